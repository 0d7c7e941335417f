"""/openai/config, /ollama/config and verify (OW): an administrator reads and changes the
model connections (the admin settings page does the same), or tries a server first."""

from flask import g, jsonify

from webui.api import bp
from webui.api.payloads import json_object
from webui.core.catalog import OLLAMA, OPENAI, clean_base_url
from webui.errors import ServiceError
from webui.security.permissions import require_role, session_only
from webui.services import connections, llm_client, model_access


@bp.get("/openai/config")
@bp.get("/ollama/config", defaults={"kind": OLLAMA})
@require_role("admin")
def read_connections_config(kind: str = OPENAI):
    return jsonify(connections.open_webui_config(kind))


@bp.post("/openai/config/update")
@bp.post("/ollama/config/update", defaults={"kind": OLLAMA})
@require_role("admin")
@session_only
def update_connections_config(kind: str = OPENAI):
    connections.update_from_open_webui(kind, json_object(), g.principal.id)
    model_access.forget_models()
    return jsonify(connections.open_webui_config(kind))


@bp.post("/openai/verify")
@bp.post("/ollama/verify", defaults={"kind": OLLAMA})
@require_role("admin")
@session_only
def verify_connection(kind: str = OPENAI):
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
