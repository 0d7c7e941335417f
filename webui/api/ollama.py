"""/ollama/… (OW): Ollama's own API, proxied to the enabled Ollama connections.

Model calls go to the connection that lists the model and only for models the
caller may use; managing models (pull, create, delete) is for admins. Streaming
answers (NDJSON) pass through chunk by chunk.
"""

import json
from typing import Optional

from flask import Response, g, jsonify, request

from webui.api import bp
from webui.api.chat import relay_response, release_database
from webui.api.declare import documented, stream
from webui.api.payloads import json_object
from webui.api.platform import EMBEDDING_LIST, EMBEDDING_REQUEST
from webui.api.upstreams import OLLAMA_TAG, upstream_failures
from webui.core.apidoc import (
    ANY,
    INTEGER,
    NUMBER,
    STRING,
    Answer,
    array,
    obj,
)
from webui.core.catalog import OLLAMA
from webui.core.parsers import query_flag
from webui.errors import ServiceError
from webui.security.permissions import require_role
from webui.services import connections, embeddings, llm_client, model_access
from webui.services.connections import Connection
from webui.services.llm_client import UpstreamError
from webui.services.usage import Meter, tokens_reported

NDJSON = "application/x-ndjson"
FORM = "application/x-www-form-urlencoded"  # what ``curl -d`` says a JSON body is

# --- what the routes declare ------------------------------------------------------------------
# Bodies go on to Ollama as they are (the model named as the server knows it): webui reads
# only model (or name) and stream, so the rest is Ollama's own and stays open. Ollama (Go)
# takes null for a field it then leaves unset, so the fields typed here take null too.
NO_CONNECTION = {503: Answer(description="No Ollama connection is enabled.")}
FAILURES = {**NO_CONNECTION, **upstream_failures("The Ollama server")}
TEXT = {"type": ["string", "null"]}
MODEL_FIELDS = {
    "model": {**TEXT, "description": 'The model as Ollama names it ("x" is "x:latest").'},
    "name": {**TEXT, "description": "The older name of model, used when model is not given."},
}
STREAM = {
    "type": ["boolean", "null"],
    "description": "false: one JSON object rather than JSON lines.",
}
OPTIONS = {"type": ["object", "null"], "description": "Model parameters (temperature, ...)."}
KEEP_ALIVE = {"type": ["string", "number", "null"]}
TEXTS = {"type": ["array", "null"], "items": STRING}
MESSAGE = obj({"role": TEXT, "content": TEXT, "images": TEXTS})
CHAT_BODY = obj(
    {
        **MODEL_FIELDS,
        "messages": {"type": ["array", "null"], "items": MESSAGE},
        "stream": STREAM,
        "format": {**ANY, "description": '"json", or a JSON schema the answer follows.'},
        "options": OPTIONS,
        "keep_alive": KEEP_ALIVE,
        "tools": {
            "type": ["array", "null"],
            "items": obj(),
            "description": "Functions the model may call, each an object in Ollama's own shape.",
        },
    }
)
GENERATE_BODY = obj(
    {
        **MODEL_FIELDS,
        "prompt": TEXT,
        "suffix": TEXT,
        "system": TEXT,
        "template": TEXT,
        "images": TEXTS,
        "stream": STREAM,
        "raw": {"type": ["boolean", "null"]},
        "format": ANY,
        "options": OPTIONS,
        "keep_alive": KEEP_ALIVE,
    }
)
EMBED_BODY = obj(
    {
        **MODEL_FIELDS,
        "input": {"anyOf": [STRING, array(STRING), {"type": "null"}]},
        "truncate": {"type": ["boolean", "null"]},
        "options": OPTIONS,
        "keep_alive": KEEP_ALIVE,
    }
)
LEGACY_EMBED_BODY = obj(
    {**MODEL_FIELDS, "prompt": TEXT, "options": OPTIONS, "keep_alive": KEEP_ALIVE}
)
SHOW_BODY = obj({**MODEL_FIELDS, "verbose": {"type": ["boolean", "null"]}})
PULL_BODY = obj({**MODEL_FIELDS, "insecure": {"type": ["boolean", "null"]}, "stream": STREAM})
CREATE_BODY = obj({**MODEL_FIELDS, "from": TEXT, "stream": STREAM})
DELETE_BODY = obj(MODEL_FIELDS)
MANAGE_POSITION = (
    "With /{url_idx}, the enabled Ollama connection at that position (0-based, 404 when there is "
    "none); without it, the connection that lists the model, else the first enabled one."
)
ERROR_LINE = 'A failure after the answer began arrives as a last line {"error": "..."}.'
JSON_OR_LINES = ' With "stream": true the answer is sent as JSON lines (application/x-ndjson).'
ASKED_LINES = stream(NDJSON, "JSON lines, when the body asks for a stream.")

TAGS_ANSWER = obj({"models": array(OLLAMA_TAG)}, ("models",))
CHAT_LINES = stream(
    NDJSON,
    "One JSON object a line, each with model, created_at, message (role, content) and done; "
    "the last has done: true, done_reason and the token counts (prompt_eval_count, "
    f'eval_count). With "stream": false, that last object alone, as JSON. {ERROR_LINE}',
)
GENERATE_LINES = stream(
    NDJSON,
    "One JSON object a line, each with model, created_at, response (text) and done; the last "
    'has done: true and the token counts. With "stream": false, the last object alone (the '
    f"whole response), as JSON. {ERROR_LINE}",
)
PROGRESS_LINES = stream(
    NDJSON,
    'One JSON object a line, {"status": ...} (with digest, total, completed while '
    'downloading); the last is {"status": "success"}. With "stream": false, that last object '
    f"alone, as JSON. {ERROR_LINE}",
)
# With "stream": false, the last object alone, as JSON (its fields as the stream describes).
LAST_OBJECT = Answer(obj())
EMBED_ANSWER = obj(
    {
        "model": STRING,
        "embeddings": array(array(NUMBER)),
        "total_duration": INTEGER,
        "load_duration": INTEGER,
        "prompt_eval_count": INTEGER,
    }
)
SHOW_ANSWER = obj(
    {
        "modelfile": STRING,
        "parameters": STRING,
        "template": STRING,
        "details": obj(),
        "model_info": obj(),
        "capabilities": array(STRING),
    }
)
LOADED_MODEL = obj(
    {
        "name": STRING,
        "model": STRING,
        "size": INTEGER,
        "digest": STRING,
        "details": obj(),
        "expires_at": STRING,
        "size_vram": INTEGER,
    }
)
OPENAI_MODEL_LIST = obj(
    {
        "object": {"const": "list"},
        "data": array(
            obj(
                {"id": STRING, "object": {"const": "model"}, "owned_by": STRING, "name": STRING},
                ("id", "object", "owned_by", "name"),
            )
        ),
    },
    ("object", "data"),
)
REFRESH = {
    "refresh": {
        "type": "boolean",
        "description": "Ask the connections again now, rather than use the list kept for seconds.",
    }
}


@bp.url_value_preprocessor
def _keep_form_body(_endpoint, _values):
    # Runs before the guard and the text check, which parse a form body and so use it up:
    # keeping the bytes first leaves them for the view to read as JSON, as Ollama does.
    if request.mimetype == FORM and request.path.startswith("/ollama/api/"):
        request.get_data(cache=True, parse_form_data=False)


def ollama_connections() -> list[Connection]:
    """The enabled Ollama connections, or 503 saying how to get one."""
    conns = connections.enabled_connections(OLLAMA)
    if not conns:
        raise ServiceError(
            503,
            "No Ollama connection is enabled; an administrator can add or enable one in "
            "Admin Panel > Settings > Connections.",
        )
    return conns


def ndjson_error(error: UpstreamError) -> bytes:
    return json.dumps({"error": error.detail}).encode() + b"\n"


def forward(
    conn: Connection,
    method: str,
    path: str,
    body: dict,
    streams: bool,
    meter: Optional[Meter] = None,
) -> Response:
    """Send the body on and hand the answer back as Ollama gave it."""
    release_database()
    if streams:
        try:
            response = llm_client.open_stream(conn, path, body, (NDJSON, "application/json"))
        except UpstreamError as error:
            if meter:
                meter.done(error.status)
            raise
        return relay_response(conn, response, meter, NDJSON, ndjson_error)
    try:
        response = llm_client.send(conn, method, path, body)
        # Some answers are empty (delete); any content must be JSON.
        answer = llm_client.json_answer(conn, response) if response.content.strip() else {}
    except UpstreamError as error:
        if meter:
            meter.done(error.status)
        raise
    if meter:
        meter.done(200, tokens_reported(answer))
    return Response(response.content, status=response.status_code, content_type="application/json")


def model_call(path: str, streams_by_default: bool, metered: bool) -> Response:
    """A call about one model the caller may use, sent to the connection that has it."""
    ollama_connections()
    body = json_object(any_content_type=True)  # as Ollama: JSON whatever the Content-Type
    model = model_access.find_usable_model(
        g.principal, body.get("model") or body.get("name"), OLLAMA
    )
    body["model"] = model["id"]
    body.pop("name", None)
    streams = body.get("stream", streams_by_default) is not False
    meter = Meter.start(g.principal, request.path, model["id"], streams) if metered else None
    return forward(model_access.connection_of(model), "POST", path, body, streams, meter)


@bp.get("/ollama/api/tags")
@documented(
    "The Ollama models you may use, as Ollama lists them",
    "Ollama",
    query=REFRESH,
    answers={200: TAGS_ANSWER, **NO_CONNECTION},
)
def ollama_tags():
    ollama_connections()
    refresh = query_flag(request.args, "refresh")
    models = model_access.usable_models(g.principal, refresh=refresh)
    return jsonify(models=[m["ollama"] for m in models if m["connection_type"] == OLLAMA])


@bp.post("/ollama/api/chat")
@documented(
    "Chat with an Ollama model (JSON lines unless stream is false)",
    "Ollama",
    body=CHAT_BODY,
    any_content_type=True,
    answers={200: [CHAT_LINES, LAST_OBJECT], **FAILURES},
    description="The body is read as JSON whatever its Content-Type, as Ollama does.",
)
def ollama_chat():
    return model_call("/api/chat", streams_by_default=True, metered=True)


@bp.post("/ollama/api/generate")
@documented(
    "Complete a prompt with an Ollama model (JSON lines unless stream is false)",
    "Ollama",
    body=GENERATE_BODY,
    any_content_type=True,
    answers={200: [GENERATE_LINES, LAST_OBJECT], **FAILURES},
    description="The body is read as JSON whatever its Content-Type, as Ollama does.",
)
def ollama_generate():
    return model_call("/api/generate", streams_by_default=True, metered=True)


@bp.post("/ollama/api/embed")
@documented(
    "Embeddings of texts from an Ollama model, in Ollama's shape",
    "Ollama",
    body=EMBED_BODY,
    any_content_type=True,
    answers={200: [EMBED_ANSWER, ASKED_LINES], **FAILURES},
    description="The body is read as JSON whatever its Content-Type." + JSON_OR_LINES,
)
def ollama_embed():
    return model_call("/api/embed", streams_by_default=False, metered=False)


@bp.post("/ollama/api/show")
@documented(
    "An Ollama model's details: modelfile, parameters, template",
    "Ollama",
    body=SHOW_BODY,
    any_content_type=True,
    answers={200: [SHOW_ANSWER, ASKED_LINES], **FAILURES},
    description="The body is read as JSON whatever its Content-Type." + JSON_OR_LINES,
)
def ollama_show():
    return model_call("/api/show", streams_by_default=False, metered=False)


# --- managing models: admins only --------------------------------------------------------


def chosen_connection(url_idx: Optional[int], model_name: object) -> Connection:
    """The Ollama connection at position url_idx (0-based), else the one that lists
    the model, else the first enabled one."""
    conns = ollama_connections()
    if url_idx is None:
        for model in model_access.all_models():
            if model["connection_type"] == OLLAMA and model["id"] == model_name:
                return model_access.connection_of(model)
        return conns[0]
    for conn in conns:
        if conn.index == url_idx:
            return conn
    raise ServiceError(404, f"No enabled Ollama connection at position {url_idx}.")


def manage(method: str, path: str, url_idx: Optional[int], streams_by_default: bool) -> Response:
    body = json_object(any_content_type=True)  # as Ollama: JSON whatever the Content-Type
    conn = chosen_connection(url_idx, body.get("model") or body.get("name"))
    streams = body.get("stream", streams_by_default) is not False
    answer = forward(conn, method, path, body, streams)
    model_access.forget_models()  # the next listing shows what changed
    return answer


@bp.post("/ollama/api/pull")
@bp.post("/ollama/api/pull/<int:url_idx>")
@documented(
    "Download a model to an Ollama server (admins)",
    "Ollama",
    body=PULL_BODY,
    any_content_type=True,
    answers={200: [PROGRESS_LINES, LAST_OBJECT], **FAILURES},
    description=MANAGE_POSITION,
)
@require_role("admin")
def ollama_pull(url_idx: Optional[int] = None):
    return manage("POST", "/api/pull", url_idx, streams_by_default=True)


@bp.post("/ollama/api/create")
@bp.post("/ollama/api/create/<int:url_idx>")
@documented(
    "Create a model on an Ollama server (admins)",
    "Ollama",
    body=CREATE_BODY,
    any_content_type=True,
    answers={200: [PROGRESS_LINES, LAST_OBJECT], **FAILURES},
    description=MANAGE_POSITION + " The other fields are Ollama's (files, template, ...).",
)
@require_role("admin")
def ollama_create(url_idx: Optional[int] = None):
    return manage("POST", "/api/create", url_idx, streams_by_default=True)


@bp.delete("/ollama/api/delete")
@bp.delete("/ollama/api/delete/<int:url_idx>")
@documented(
    "Delete a model from an Ollama server (admins)",
    "Ollama",
    body=DELETE_BODY,
    any_content_type=True,
    answers={
        200: Answer(media_type=None, description="Deleted (Ollama answers with no body)."),
        **FAILURES,
    },
    description=MANAGE_POSITION + " A model the server does not have is a 502 (its 404).",
)
@require_role("admin")
def ollama_delete(url_idx: Optional[int] = None):
    return manage("DELETE", "/api/delete", url_idx, streams_by_default=False)


# --- reading: versions, loaded models, one connection's models ------------------------------


@bp.get("/ollama/")
@documented(
    "Whether an Ollama connection is enabled",
    "Ollama",
    answers={200: obj({"status": {"const": True}}, ("status",)), **NO_CONNECTION},
)
def ollama_status():
    ollama_connections()
    return jsonify(status=True)


def usable_ollama_models(url_idx: Optional[int] = None) -> list[dict]:
    ollama_connections()
    models = model_access.usable_models(g.principal, refresh=query_flag(request.args, "refresh"))
    return [
        m
        for m in models
        if m["connection_type"] == OLLAMA and (url_idx is None or m["connection"] == url_idx)
    ]


@bp.get("/ollama/api/tags/<int:url_idx>")
@documented(
    "The Ollama models you may use on one connection",
    "Ollama",
    query=REFRESH,
    answers={200: TAGS_ANSWER, **NO_CONNECTION},
    description="404 when no Ollama connection is enabled at that position (0-based).",
)
def ollama_connection_tags(url_idx: int):
    chosen_connection(url_idx, None)  # 404 for a position with no enabled connection
    return jsonify(models=[m["ollama"] for m in usable_ollama_models(url_idx)])


@bp.get("/ollama/v1/models")
@bp.get("/ollama/v1/models/<int:url_idx>")
@documented(
    "The Ollama models you may use, in OpenAI's shape",
    "Models",
    query=REFRESH,
    answers={200: OPENAI_MODEL_LIST, **NO_CONNECTION},
    description="With /{url_idx}, one connection's (0-based; 404 when none is enabled there).",
)
def ollama_openai_models(url_idx: Optional[int] = None):
    if url_idx is not None:
        chosen_connection(url_idx, None)
    models = usable_ollama_models(url_idx)
    return jsonify(
        object="list",
        data=[{k: m[k] for k in ("id", "object", "owned_by", "name")} for m in models],
    )


def first_answer(path: str, url_idx: Optional[int]) -> Response:
    """A read the chosen connection (else the first enabled one) answers, passed through."""
    conn = ollama_connections()[0] if url_idx is None else chosen_connection(url_idx, None)
    answer = llm_client.json_answer(conn, llm_client.send(conn, "GET", path))
    return jsonify(answer)


@bp.get("/ollama/api/version")
@bp.get("/ollama/api/version/<int:url_idx>")
@documented(
    "The Ollama server's version",
    "Ollama",
    answers={200: obj({"version": STRING}), **FAILURES},
    description="Of the first enabled connection, or of the one at /{url_idx} (0-based).",
)
def ollama_version(url_idx: Optional[int] = None):
    return first_answer("/api/version", url_idx)


@bp.get("/ollama/api/ps")
@documented(
    "The models loaded in memory on the first Ollama server (admins)",
    "Ollama",
    answers={200: obj({"models": array(LOADED_MODEL)}), **FAILURES},
)
@require_role("admin")
def ollama_loaded_models():
    return first_answer("/api/ps", None)


@bp.post("/ollama/api/embeddings")
@documented(
    "One text's embedding from an Ollama model (Ollama's older call)",
    "Ollama",
    body=LEGACY_EMBED_BODY,
    any_content_type=True,
    answers={200: obj({"embedding": array(NUMBER)}), **FAILURES},
    description="The body is read as JSON whatever its Content-Type." + JSON_OR_LINES,
)
def ollama_legacy_embeddings():
    return model_call("/api/embeddings", streams_by_default=False, metered=False)


@bp.post("/ollama/v1/embeddings")
@documented(
    "Embeddings from an Ollama model, in OpenAI's shape",
    "Embeddings",
    body=EMBEDDING_REQUEST,
    answers={200: EMBEDDING_LIST, **upstream_failures("The Ollama server")},
    description="Only Ollama models: another model is not found here (400).",
)
def ollama_openai_embeddings():
    return jsonify(embeddings.embed(g.principal, json_object(), request.path, OLLAMA))
