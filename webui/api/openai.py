"""/openai/… (OW): the OpenAI connections, as Open WebUI's proxy exposes them.

Chat completions share ``/api/chat/completions`` (``chat.py``), the connection settings
live in ``connections.py``; this module lists the models.
"""

from flask import g, jsonify

from webui.api import bp
from webui.api.chat import UPSTREAM_ERRORS
from webui.api.declare import documented
from webui.api.models import MODEL
from webui.core.apidoc import array, enum, obj
from webui.core.catalog import OPENAI
from webui.errors import ServiceError
from webui.security.permissions import require_role
from webui.services import connections, llm_client, model_access

OPENAI_MODEL_LIST = obj({"object": enum("list"), "data": array(MODEL)}, ("object", "data"))


def connection_at(kind: str, url_idx: int) -> connections.Connection:
    for conn in connections.enabled_connections(kind):
        if conn.index == url_idx:
            return conn
    label = connections.KIND_LABELS[kind]
    raise ServiceError(404, f"No enabled {label} connection at position {url_idx}.")


def models_list(models: list[dict]) -> dict:
    return {"object": "list", "data": models}


@bp.get("/openai/models")
@documented(
    "The models of the OpenAI connections you may use",
    "Models",
    answers={200: OPENAI_MODEL_LIST},
)
def openai_models():
    usable = model_access.usable_models(g.principal)
    return jsonify(models_list([m for m in usable if m["connection_type"] == OPENAI]))


@bp.get("/openai/models/<int:url_idx>")
@documented(
    "Every model of one OpenAI connection, asked now (admins)",
    "Models",
    answers={200: OPENAI_MODEL_LIST, **UPSTREAM_ERRORS},
    description="`url_idx` is the connection's position among the enabled OpenAI "
    "connections, from 0. No access rules apply: the connection's whole list.",
)
@require_role("admin")
def openai_connection_models(url_idx: int):
    conn = connection_at(OPENAI, url_idx)
    return jsonify(models_list(llm_client.list_models(conn, llm_client.model_list_timeout())))
