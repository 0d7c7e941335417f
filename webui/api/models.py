"""/api/models (OW): the models the caller may use, from every enabled connection.

Scripts ask for this list over and over, and the answer rarely changes: the list of every
model is cached for seconds (``model_access.all_models``) and the access rules under the
settings version, so the same models come back request after request. Their JSON is
encoded once per such listing and reused.
"""

from flask import current_app, g, request

from webui.api import bp
from webui.api.declare import documented
from webui.core.apidoc import INTEGER, STRING, array, component, enum, nullable, obj
from webui.core.catalog import OLLAMA, OPENAI
from webui.core.parsers import query_flag
from webui.services import model_access

# {identities of the listed model dicts: (the list, its JSON)}. Each entry keeps its list,
# and so its dicts, alive: an id cannot be reused by another dict while it is part of a key.
# Cached model dicts are never changed in place (they are shared between requests).
_bodies: dict[tuple[int, ...], tuple[list[dict], bytes]] = {}
_MOST_BODIES = 64  # listings differ by the groups people are in: few, but not bounded

MODEL = component(
    "Model",
    obj(
        {
            "id": {**STRING, "description": "What `model` names in a chat request."},
            "name": STRING,
            "object": enum("model"),
            "owned_by": STRING,
            "connection_type": enum(OPENAI, OLLAMA),
            "connection": {**INTEGER, "description": "The connection's position, from 0."},
            "created": {
                **nullable(INTEGER),
                "description": "OpenAI connections: when the model server says it was made.",
            },
            "ollama": {
                **obj({"name": STRING}),
                "description": "Ollama connections: the model as Ollama's /api/tags lists it.",
            },
        },
        ("id", "name", "object", "owned_by", "connection_type", "connection"),
    ),
)
MODEL_LIST = obj({"data": array(MODEL)}, ("data",))


@bp.get("/api/models")
@bp.get("/api/v1/models")
@documented(
    "The models you may use",
    "Models",
    query={
        "refresh": {
            "type": "boolean",
            "default": False,
            "description": "Ask every connection again now, rather than use the list kept "
            "for a few seconds.",
        }
    },
    answers={200: MODEL_LIST},
)
def list_models():
    refresh = bool(request.query_string) and query_flag(request.args, "refresh")
    models = model_access.usable_models(g.principal, refresh=refresh)
    return current_app.response_class(models_json(models), mimetype="application/json")


def models_json(models: list[dict]) -> bytes:
    """``{"data": models}`` exactly as jsonify writes it, encoded once per listing."""
    key = tuple(map(id, models))
    entry = _bodies.get(key)
    if entry is None:
        if len(_bodies) >= _MOST_BODIES:
            _bodies.clear()
        entry = _bodies[key] = (models, current_app.json.response(data=models).get_data())
    return entry[1]
