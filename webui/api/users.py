"""/api/v1/users: the admin's list of people, role changes, default permissions, and what
each caller may read about themselves (their permissions and groups)."""

from flask import g, jsonify, request

from webui.api import bp
from webui.api.payloads import group_json, json_object, user_json
from webui.core.catalog import DEFAULT_PERMISSION_SETTINGS, PERMISSIONS, default_setting_name
from webui.core.parsers import query_number
from webui.errors import ServiceError
from webui.security.permissions import (
    default_permissions,
    flatten,
    nest,
    permissions_of,
    require_role,
    session_only,
    user_permissions,
)
from webui.services import configuration, groups, users

PAGE_SIZE = 30  # Open WebUI's page of people


def users_json(people: list) -> list[dict]:
    return [user_json(user, user_permissions(user)) for user in people]


@bp.get("/api/v1/users/")
@require_role("admin")
def list_users():
    return jsonify(users=users_json(users.all_users()))


@bp.get("/api/v1/users/all")
@require_role("admin")
def all_users():
    every = users.all_users()
    return jsonify(users=users_json(every), total=len(every))


@bp.get("/api/v1/users/search")
@require_role("admin")
def search_users():
    page = query_number(request.args, "page", 1, 1, 1_000_000)
    found, total = users.search_users(
        request.args.get("query", ""), (page - 1) * PAGE_SIZE, PAGE_SIZE
    )
    return jsonify(users=users_json(found), total=total)


@bp.get("/api/v1/users/permissions")
def my_permissions():
    return jsonify(nest(permissions_of(g.principal)))


@bp.get("/api/v1/users/groups")
def my_groups():
    mine = groups.groups_by_ids(g.principal.group_ids)
    return jsonify([group_json(group) for group in mine])


@bp.get("/api/v1/users/default/permissions/defaults")
@require_role("admin")
def default_permission_defaults():
    return jsonify(nest({name: entry.default for name, entry in PERMISSIONS.items()}))


@bp.get("/api/v1/users/<user_id>")
@require_role("admin")
def read_user(user_id: str):
    user = users.get_user_or_404(user_id)
    return jsonify(user_json(user, user_permissions(user)))


@bp.get("/api/v1/users/<user_id>/info")
@require_role("admin")
def read_user_info(user_id: str):
    user = users.get_user_or_404(user_id)
    return jsonify({**user_json(user, user_permissions(user)), "created_at": user.created_at})


@bp.get("/api/v1/users/<user_id>/groups")
@require_role("admin")
def read_user_groups(user_id: str):
    return jsonify([group_json(group) for group in users.get_user_or_404(user_id).groups])


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
    users.delete_user(users.get_user_or_404(user_id), g.principal.id)
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
