"""Embeddings in OpenAI's shape, from the connection that serves the model.

OpenAI connections answer ``/embeddings`` as they are; Ollama connections are asked with
their own ``/api/embed`` and the answer is put in OpenAI's shape. Every call is metered.
"""

from typing import Any, Optional

from webui.core.catalog import OLLAMA
from webui.core.parsers import MAX_EMBEDDING_INPUTS, at_most, parse_field
from webui.errors import ServiceError
from webui.security.principal import Principal
from webui.services import llm_client, model_access
from webui.services.llm_client import UpstreamError
from webui.services.usage import Meter, tokens_reported


def check_input(value: Any) -> Any:
    if isinstance(value, str) and value:
        return value
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return parse_field("input", at_most(MAX_EMBEDDING_INPUTS, "texts"), value)
    raise ServiceError(400, "input is required: a string or a list of strings to embed.")


def openai_shape(model: str, ollama_answer: dict) -> dict:
    vectors = ollama_answer.get("embeddings")
    if not isinstance(vectors, list):
        raise UpstreamError(502, "The Ollama connection answered without embeddings.")
    return {
        "object": "list",
        "data": [
            {"object": "embedding", "embedding": vector, "index": index}
            for index, vector in enumerate(vectors)
        ],
        "model": model,
        "usage": {
            "prompt_tokens": ollama_answer.get("prompt_eval_count") or 0,
            "total_tokens": ollama_answer.get("prompt_eval_count") or 0,
        },
    }


def embed(user: Principal, body: dict[str, Any], endpoint: str, kind: Optional[str] = None) -> dict:
    """The embeddings of ``body["input"]`` from ``body["model"]``, a model the user may use
    (of connections of ``kind`` only, when given)."""
    model = model_access.find_usable_model(user, body.get("model"), kind)
    text = check_input(body.get("input"))
    conn = model_access.connection_of(model)
    meter = Meter.start(user, endpoint, model["id"], False)
    try:
        if conn.kind == OLLAMA:
            sent = {"model": model["id"], "input": text}
            response = llm_client.send(conn, "POST", "/api/embed", sent)
            answer = openai_shape(model["id"], llm_client.json_answer(conn, response))
        else:
            sent = {**body, "model": model["id"], "input": text}
            response = llm_client.send(conn, "POST", "/embeddings", sent)
            answer = llm_client.json_answer(conn, response, "data")
    except UpstreamError as error:
        meter.done(error.status)
        raise
    meter.done(200, tokens_reported(answer))
    return answer
