"""Usage of one key over time, for its owner and for administrators."""

from flask import g, jsonify, request

from webui.api import bp
from webui.security.permissions import require_role
from webui.services import key_usage


@bp.get("/api/v1/auths/api_keys/<key_id>/usage")
def own_key_usage(key_id: str):
    window = key_usage.parse_window(request.args)
    key_usage.check_own_key(g.principal, key_id)
    return jsonify(key_usage.series(key_id, window))


@bp.get("/api/v1/auths/admin/api_keys/<key_id>/usage")
@require_role("admin")
def any_key_usage(key_id: str):
    window = key_usage.parse_window(request.args)
    key_usage.check_any_key(key_id)
    return jsonify(key_usage.series(key_id, window))
