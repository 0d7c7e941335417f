"""/api/models (OW): the models the caller may use, from every enabled connection."""

from flask import g, jsonify, request

from webui.api import bp
from webui.core.parsers import query_flag
from webui.services import model_access


@bp.get("/api/models")
@bp.get("/api/v1/models")
def list_models():
    refresh = query_flag(request.args, "refresh")
    return jsonify(data=model_access.usable_models(g.principal, refresh=refresh))
