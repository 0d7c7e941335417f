"""Open WebUI's top-level routes: version, public config, base models and embeddings (the
probes are in health.py)."""

from importlib import metadata

from flask import g, jsonify, request

from webui.api import bp
from webui.api.declare import documented
from webui.api.payloads import json_object
from webui.api.upstreams import UPSTREAM_MODEL, upstream_failures
from webui.core.apidoc import BOOLEAN, INTEGER, NUMBER, STRING, array, component, obj
from webui.core.settings import get_setting
from webui.security.permissions import has_permission, public, require_role
from webui.services import connections, embeddings, model_access

APP_NAME = "webui"

# What anyone may read; a signed-in caller's features add what they may do.
PUBLIC_FEATURES = (
    "auth",
    "enable_signup",
    "enable_login_form",
    "enable_api_keys",
    "enable_ldap",
    "enable_websocket",
)
CALLER_FEATURES = (
    "enable_openai_api",
    "enable_ollama_api",
    "enable_file_upload",
    "enable_knowledge",
    "enable_api_key_use",
)
PUBLIC_CONFIG = obj(
    {
        "status": BOOLEAN,
        "name": STRING,
        "version": STRING,
        "default_locale": STRING,
        "oauth": obj({"providers": obj()}, ("providers",)),
        "features": {
            **obj({name: BOOLEAN for name in PUBLIC_FEATURES + CALLER_FEATURES}, PUBLIC_FEATURES),
            "description": "The caller's own features (enable_openai_api ...) when signed in.",
        },
    },
    ("status", "name", "version", "default_locale", "oauth", "features"),
)
# Embeddings in OpenAI's shape: Ollama's are put in it; an OpenAI server's pass as it gave
# them (it must hold ``data``), so a vector may be base64 text when encoding_format asks it.
EMBEDDING_LIST = component(
    "EmbeddingList",
    obj(
        {
            "object": {"const": "list"},
            "data": array(
                obj(
                    {
                        "object": {"const": "embedding"},
                        "embedding": {"anyOf": [array(NUMBER), STRING]},
                        "index": INTEGER,
                    }
                )
            ),
            "model": STRING,
            "usage": obj({"prompt_tokens": INTEGER, "total_tokens": INTEGER}),
        },
        ("data",),
    ),
)
EMBEDDING_REQUEST = component(
    "EmbeddingRequest",
    obj(
        {
            "model": STRING,
            "input": {
                "anyOf": [STRING, array(STRING)],
                "description": "The text, or a list of texts, to embed.",
                "x-refusal": "must be a string or a list of strings to embed",
            },
        },
        ("model", "input"),
    ),
)


def app_version() -> str:
    try:
        return metadata.version(APP_NAME)
    except metadata.PackageNotFoundError:  # running from a checkout that was never installed
        return "0.0.0"


@bp.get("/api/version")
@documented(
    "This server's version",
    "Server status",
    answers={200: obj({"version": STRING}, ("version",))},
)
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
@documented(
    "Public configuration, and the signed-in caller's features",
    "Server status",
    answers={200: PUBLIC_CONFIG},
)
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
@documented(
    "Every model of every enabled connection, access rules aside",
    "Models",
    answers={200: obj({"data": array(UPSTREAM_MODEL)}, ("data",))},
)
@require_role("admin")
def base_models():
    """Every upstream model, access rules aside: there are no custom models built on them."""
    return jsonify(data=model_access.all_models())


@bp.post("/api/embeddings")
@bp.post("/api/v1/embeddings")
@documented(
    "Embeddings of texts, in OpenAI's shape, from a model you may use",
    "Embeddings",
    body=EMBEDDING_REQUEST,
    answers={200: EMBEDDING_LIST, **upstream_failures("The model's server")},
    description="Other OpenAI fields (encoding_format, dimensions, ...) go to OpenAI servers.",
)
def embed():
    return jsonify(embeddings.embed(g.principal, json_object(), request.path))
