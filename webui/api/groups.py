"""/api/v1/groups: groups and the permissions they grant."""

from flask import jsonify

from webui.api import bp
from webui.api.payloads import group_json, json_object
from webui.security.permissions import require_role, session_only
from webui.services import groups


@bp.get("/api/v1/groups/")
@require_role("admin")
def list_groups():
    return jsonify([group_json(group) for group in groups.all_groups()])


@bp.get("/api/v1/groups/id/<group_id>")
@require_role("admin")
def read_group(group_id: str):
    return jsonify(group_json(groups.get_group_or_404(group_id)))


@bp.post("/api/v1/groups/create")
@require_role("admin")
@session_only
def create_group():
    body = json_object()
    group = groups.create_group(body.get("name"), body.get("description"), body.get("permissions"))
    return jsonify(group_json(group))


@bp.post("/api/v1/groups/id/<group_id>/update")
@require_role("admin")
@session_only
def update_group(group_id: str):
    body = json_object()
    group = groups.get_group_or_404(group_id)
    return jsonify(group_json(groups.update_group(group, body)))


@bp.delete("/api/v1/groups/id/<group_id>/delete")
@require_role("admin")
@session_only
def delete_group(group_id: str):
    groups.delete_group(groups.get_group_or_404(group_id))
    return jsonify(True)


def group_with_count(group_id: str) -> dict:
    """Open WebUI's group response: the group and how many people it holds."""
    group = groups.get_group_or_404(group_id)
    return {**group_json(group), "member_count": len(group.members)}


@bp.get("/api/v1/groups/id/<group_id>/info")
@bp.get("/api/v1/groups/id/<group_id>/export")
@bp.get("/api/v1/groups/id/<group_id>/preview")
@require_role("admin")
def read_group_info(group_id: str):
    return jsonify(group_with_count(group_id))


def members_json(group_id: str) -> list[dict]:
    members = groups.get_group_or_404(group_id).members
    return [{"id": m.id, "name": m.name, "email": m.email, "role": m.role} for m in members]


@bp.post("/api/v1/groups/id/<group_id>/users")
@bp.get("/api/v1/groups/id/<group_id>/members")
@require_role("admin")
def group_members(group_id: str):
    return jsonify(members_json(group_id))


@bp.post("/api/v1/groups/id/<group_id>/users/add")
@require_role("admin")
@session_only
def add_group_members(group_id: str):
    group = groups.get_group_or_404(group_id)
    groups.add_members(group, json_object().get("user_ids"))
    return jsonify(group_with_count(group_id))


@bp.post("/api/v1/groups/id/<group_id>/users/remove")
@require_role("admin")
@session_only
def remove_group_members(group_id: str):
    group = groups.get_group_or_404(group_id)
    groups.remove_members(group, json_object().get("user_ids"))
    return jsonify(group_with_count(group_id))
