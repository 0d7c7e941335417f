"""/openai/config, /ollama/config and verify (OW): an administrator reads and changes the
model connections (the admin settings page does the same), or tries a server first.

Also the shapes of what upstreams list (``UpstreamModel``, ``OllamaTag``) and the failures a
route that calls an upstream may answer, for the routes' declarations."""

from flask import g, jsonify

from webui.api import bp
from webui.api.declare import documented
from webui.api.payloads import json_object
from webui.core.apidoc import (
    ANY,
    BOOLEAN,
    INTEGER,
    STRING,
    Answer,
    array,
    component,
    nullable,
    obj,
)
from webui.core.catalog import CONNECTION_SETTING_NAMES, OLLAMA, OPENAI, clean_base_url
from webui.errors import ServiceError
from webui.security.permissions import require_role, session_only
from webui.services import connections, llm_client, model_access

# --- shapes shared by the routes that call upstreams ------------------------------------------

# Ollama's own description of a model, passed on as the server gave it: webui checks only
# that ``name`` is non-empty text; the other fields are Ollama's.
OLLAMA_TAG = component(
    "OllamaTag",
    obj(
        {
            "name": STRING,
            "model": STRING,
            "modified_at": STRING,
            "size": INTEGER,
            "digest": STRING,
            "details": obj(
                {
                    "format": STRING,
                    "family": STRING,
                    "parameter_size": STRING,
                    "quantization_level": STRING,
                }
            ),
        },
        ("name",),
    ),
)
UPSTREAM_MODEL = component(
    "UpstreamModel",
    obj(
        {
            "id": STRING,
            "name": STRING,
            "object": {"const": "model"},
            "owned_by": STRING,
            "connection_type": {"enum": [OLLAMA, OPENAI]},
            "connection": {**INTEGER, "description": "The connection's position (0-based)."},
            "ollama": {**OLLAMA_TAG, "description": "Ollama's own entry (Ollama models)."},
            "created": {**ANY, "description": "As the OpenAI server gave it (OpenAI models)."},
        },
        ("id", "name", "object", "owned_by", "connection_type", "connection"),
    ),
)
MODEL_LIST = obj({"object": {"const": "list"}, "data": array(UPSTREAM_MODEL)}, ("object", "data"))


def upstream_failures(server: str) -> dict[int, Answer]:
    """What a route answers when the upstream it calls fails (``llm_client.send``): its 422
    passed on, 502 when it is unreachable or answers an error or something unusable, 504
    when it is too slow (its 400, 413 and 429 are passed on too, among the common errors)."""
    return {
        422: Answer(description=f"{server} refused the request as it was (its 422, passed on)."),
        502: Answer(
            description=f"{server} could not be reached, failed, or answered something unusable."
        ),
        504: Answer(description=f"{server} did not answer in time."),
    }


# --- the connections' settings, in Open WebUI's names -----------------------------------------

CONNECTION_OPTIONS = {
    "type": "object",
    "additionalProperties": obj({"enable": BOOLEAN}),
    "description": 'Options by connection position (0-based), e.g. {"0": {"enable": false}}.',
}

CONFIGS_REFUSAL = 'must be an object like {"0": {"enable": true}}'


def config_answer(kind: str) -> dict:
    """What /<kind>/config shows: the switch, the base URLs, the keys masked (OpenAI), the
    options by position."""
    switch, urls_name, keys_name, configs_name = CONNECTION_SETTING_NAMES[kind]
    fields = {switch: BOOLEAN, urls_name: array(STRING), configs_name: CONNECTION_OPTIONS}
    if keys_name:
        fields[keys_name] = {**array(STRING), "description": "The keys, masked."}
    return obj(fields, tuple(fields))


def config_update(kind: str) -> dict:
    """Open WebUI's config/update body: any of the fields, the others kept as they are."""
    switch, urls_name, keys_name, configs_name = CONNECTION_SETTING_NAMES[kind]
    fields = {
        switch: {
            "type": ["boolean", "string"],
            "description": 'true or false (or a word such as "on", "off").',
            "x-refusal": "must be true or false",
        },
        urls_name: {**array(STRING), "x-refusal": "must be a list of URLs"},
        configs_name: {**nullable(CONNECTION_OPTIONS), "x-refusal": CONFIGS_REFUSAL},
    }
    if keys_name:
        fields[keys_name] = {
            **array(STRING),
            "description": "A key sent back masked, as shown, keeps the stored key.",
            "x-refusal": "must be a list of API keys",
        }
    return obj(fields)


OLLAMA_CONFIG = component("OllamaConfig", config_answer(OLLAMA))
OPENAI_CONFIG = component("OpenAIConfig", config_answer(OPENAI))
VERIFY_BODY = obj(
    {"url": {**STRING, "description": "The server's base URL."}, "key": STRING}, ("url",)
)


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
@documented(
    "The OpenAI connections: switch, base URLs, masked keys, options",
    "Administration",
    answers={200: OPENAI_CONFIG},
)
@require_role("admin")
def read_openai_config():
    return jsonify(connections.open_webui_config(OPENAI))


@bp.get("/ollama/config")
@documented(
    "The Ollama connections: switch, base URLs, options",
    "Administration",
    answers={200: OLLAMA_CONFIG},
)
@require_role("admin")
def read_ollama_config():
    return jsonify(connections.open_webui_config(OLLAMA))


@bp.post("/openai/config/update")
@documented(
    "Change the OpenAI connections (all or nothing)",
    "Administration",
    body=config_update(OPENAI),
    answers={200: OPENAI_CONFIG},
    description="Fields left out keep their values. The answer is the saved configuration.",
)
@require_role("admin")
@session_only
def update_openai_config():
    return saved_config(OPENAI)


@bp.post("/ollama/config/update")
@documented(
    "Change the Ollama connections (all or nothing)",
    "Administration",
    body=config_update(OLLAMA),
    answers={200: OLLAMA_CONFIG},
    description="Fields left out keep their values. The answer is the saved configuration.",
)
@require_role("admin")
@session_only
def update_ollama_config():
    return saved_config(OLLAMA)


@bp.post("/openai/verify")
@documented(
    "Ask an OpenAI-compatible server for its models before saving it",
    "Administration",
    body=VERIFY_BODY,
    answers={200: MODEL_LIST, **upstream_failures("The server")},
)
@require_role("admin")
@session_only
def verify_openai_connection():
    return verified_models(OPENAI)


@bp.post("/ollama/verify")
@documented(
    "Ask an Ollama server for its models before saving it",
    "Administration",
    body=VERIFY_BODY,
    answers={200: MODEL_LIST, **upstream_failures("The server")},
)
@require_role("admin")
@session_only
def verify_ollama_connection():
    return verified_models(OLLAMA)
