"""Open WebUI's top-level routes: version, public config, base models and embeddings (the
probes are in health.py)."""

from importlib import metadata

from flask import g, jsonify, request

from webui.api import bp
from webui.api.payloads import json_object
from webui.core.settings import get_setting
from webui.security.permissions import has_permission, public, require_role
from webui.services import connections, embeddings, model_access

APP_NAME = "webui"


def app_version() -> str:
    try:
        return metadata.version(APP_NAME)
    except metadata.PackageNotFoundError:  # running from a checkout that was never installed
        return "0.0.0"


@bp.get("/api/version")
@public
def version():
    return jsonify(version=app_version())


def caller_features() -> dict[str, bool]:
    """What the signed-in caller may do, in Open WebUI's ``features`` words."""
    principal = g.principal
    return {
        "enable_openai_api": connections.api_enabled("openai"),
        "enable_ollama_api": connections.api_enabled("ollama"),
        "enable_file_upload": has_permission(principal, "chat.file_upload"),
        "enable_knowledge": has_permission(principal, "workspace.knowledge"),
        "enable_api_key_use": has_permission(principal, "features.api_keys"),
    }


@bp.get("/api/config")
@public
def public_config():
    """The public subset anyone may read; a signed-in caller also learns their own features."""
    features = {
        "auth": True,
        "enable_signup": bool(get_setting("ENABLE_SIGNUP")),
        "enable_login_form": True,
        "enable_api_keys": bool(get_setting("ENABLE_API_KEYS")),
        "enable_ldap": False,
        "enable_websocket": False,
    }
    if g.principal is not None and not g.principal.is_pending:
        features.update(caller_features())
    return jsonify(
        status=True,
        name=APP_NAME,
        version=app_version(),
        default_locale="en-US",
        oauth={"providers": {}},
        features=features,
    )


@bp.get("/api/models/base")
@require_role("admin")
def base_models():
    """Every upstream model, access rules aside: there are no custom models built on them."""
    return jsonify(data=model_access.all_models())


@bp.post("/api/embeddings")
@bp.post("/api/v1/embeddings")
def embed():
    return jsonify(embeddings.embed(g.principal, json_object(), request.path))
