"""/api/v1/users: the admin's list of people, role changes, default permissions."""

from flask import g, jsonify

from webui.api import bp
from webui.api.payloads import json_object, user_json
from webui.core.catalog import DEFAULT_PERMISSION_SETTINGS, default_setting_name
from webui.errors import ServiceError
from webui.security.permissions import (
    default_permissions,
    flatten,
    nest,
    require_role,
    session_only,
    user_permissions,
)
from webui.services import configuration, users


@bp.get("/api/v1/users/")
@require_role("admin")
def list_users():
    return jsonify(users=[user_json(user, user_permissions(user)) for user in users.all_users()])


@bp.post("/api/v1/users/<user_id>/update")
@require_role("admin")
@session_only
def update_user(user_id: str):
    body = json_object()
    user = users.get_user_or_404(user_id)
    if "role" not in body:
        raise ServiceError(400, "role is required: one of admin, user, pending.")
    changed = users.change_role(user, body["role"])
    return jsonify(user_json(changed, user_permissions(changed)))


@bp.delete("/api/v1/users/<user_id>")
@require_role("admin")
@session_only
def delete_user(user_id: str):
    users.delete_user(users.get_user_or_404(user_id))
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
    configuration.save(changes, DEFAULT_PERMISSION_SETTINGS, g.principal.id)
    return jsonify(nest(default_permissions()))
