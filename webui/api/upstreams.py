"""/openai/config, /ollama/config and verify (OW): an administrator reads and changes the
model connections (the admin settings page does the same), or tries a server first."""

from flask import g, jsonify

from webui.api import bp
from webui.api.payloads import json_object
from webui.core.catalog import OLLAMA, OPENAI, clean_base_url
from webui.errors import ServiceError
from webui.security.permissions import require_role, session_only
from webui.services import connections, llm_client, model_access


def verified_models(kind: str):
    """Ask a server (not yet saved, perhaps) for its models, as the admin page's Verify does."""
    body = json_object()
    url, key = body.get("url"), body.get("key", "")
    if not isinstance(url, str) or not url.strip() or not isinstance(key, str):
        raise ServiceError(400, "url is required (and key, when given, must be a string).")
    try:
        base_url = clean_base_url(url)
    except ValueError as error:
        raise ServiceError(400, f"url {error}.") from None
    conn = connections.Connection(kind, 0, base_url, key)
    models = llm_client.list_models(conn, llm_client.model_list_timeout())
    return jsonify(object="list", data=models)


def saved_config(kind: str):
    connections.update_from_open_webui(kind, json_object(), g.principal.id)
    model_access.forget_models()
    return jsonify(connections.open_webui_config(kind))


@bp.get("/openai/config")
@require_role("admin")
def read_openai_config():
    return jsonify(connections.open_webui_config(OPENAI))


@bp.get("/ollama/config")
@require_role("admin")
def read_ollama_config():
    return jsonify(connections.open_webui_config(OLLAMA))


@bp.post("/openai/config/update")
@require_role("admin")
@session_only
def update_openai_config():
    return saved_config(OPENAI)


@bp.post("/ollama/config/update")
@require_role("admin")
@session_only
def update_ollama_config():
    return saved_config(OLLAMA)


@bp.post("/openai/verify")
@require_role("admin")
@session_only
def verify_openai_connection():
    return verified_models(OPENAI)


@bp.post("/ollama/verify")
@require_role("admin")
@session_only
def verify_ollama_connection():
    return verified_models(OLLAMA)
