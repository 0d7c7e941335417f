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
from webui.api.payloads import json_object
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
def ollama_tags():
    ollama_connections()
    refresh = query_flag(request.args, "refresh")
    models = model_access.usable_models(g.principal, refresh=refresh)
    return jsonify(models=[m["ollama"] for m in models if m["connection_type"] == OLLAMA])


@bp.post("/ollama/api/chat")
def ollama_chat():
    return model_call("/api/chat", streams_by_default=True, metered=True)


@bp.post("/ollama/api/generate")
def ollama_generate():
    return model_call("/api/generate", streams_by_default=True, metered=True)


@bp.post("/ollama/api/embed")
def ollama_embed():
    return model_call("/api/embed", streams_by_default=False, metered=False)


@bp.post("/ollama/api/show")
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
@require_role("admin")
def ollama_pull(url_idx: Optional[int] = None):
    return manage("POST", "/api/pull", url_idx, streams_by_default=True)


@bp.post("/ollama/api/create")
@bp.post("/ollama/api/create/<int:url_idx>")
@require_role("admin")
def ollama_create(url_idx: Optional[int] = None):
    return manage("POST", "/api/create", url_idx, streams_by_default=True)


@bp.delete("/ollama/api/delete")
@bp.delete("/ollama/api/delete/<int:url_idx>")
@require_role("admin")
def ollama_delete(url_idx: Optional[int] = None):
    return manage("DELETE", "/api/delete", url_idx, streams_by_default=False)


# --- reading: versions, loaded models, one connection's models ------------------------------


@bp.get("/ollama/")
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
def ollama_connection_tags(url_idx: int):
    chosen_connection(url_idx, None)  # 404 for a position with no enabled connection
    return jsonify(models=[m["ollama"] for m in usable_ollama_models(url_idx)])


@bp.get("/ollama/v1/models")
@bp.get("/ollama/v1/models/<int:url_idx>")
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
def ollama_version(url_idx: Optional[int] = None):
    return first_answer("/api/version", url_idx)


@bp.get("/ollama/api/ps")
@require_role("admin")
def ollama_loaded_models():
    return first_answer("/api/ps", None)


@bp.post("/ollama/api/embeddings")
def ollama_legacy_embeddings():
    return model_call("/api/embeddings", streams_by_default=False, metered=False)


@bp.post("/ollama/v1/embeddings")
def ollama_openai_embeddings():
    return jsonify(embeddings.embed(g.principal, json_object(), request.path, OLLAMA))
