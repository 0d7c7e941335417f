"""/api/v1/users: the admin's list of people, role changes, default permissions."""

from flask import g, jsonify

from webui import settings
from webui.api import bp
from webui.api.common import json_object, user_json
from webui.errors import ServiceError
from webui.security.permissions import (
    DEFAULT_PERMISSION_SETTINGS,
    default_permissions,
    default_setting_name,
    flatten,
    nest,
    require_role,
    session_only,
)
from webui.services import accounts


@bp.get("/api/v1/users/")
@require_role("admin")
def list_users():
    return jsonify(users=[user_json(user) for user in accounts.all_users()])


@bp.post("/api/v1/users/<user_id>/update")
@require_role("admin")
@session_only
def update_user(user_id: str):
    body = json_object()
    user = accounts.get_user_or_404(user_id)
    if "role" not in body:
        raise ServiceError(400, "role is required: one of admin, user, pending.")
    return jsonify(user_json(accounts.change_role(user, body["role"])))


@bp.delete("/api/v1/users/<user_id>")
@require_role("admin")
@session_only
def delete_user(user_id: str):
    accounts.delete_user(accounts.get_user_or_404(user_id))
    return jsonify(True)


@bp.get("/api/v1/users/default/permissions")
@require_role("admin")
def read_default_permissions():
    return jsonify(nest(default_permissions()))


@bp.post("/api/v1/users/default/permissions")
@require_role("admin")
@session_only
def save_default_permissions():
    try:
        flat = flatten(json_object())
    except ValueError as error:
        raise ServiceError(400, str(error).capitalize() + ".") from None
    changes = {default_setting_name(name): granted for name, granted in flat.items()}
    valid = settings.validate_changes(changes, DEFAULT_PERMISSION_SETTINGS)
    settings.save_settings(valid, g.user.id)
    return jsonify(nest(default_permissions()))
