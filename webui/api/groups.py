"""/api/v1/groups: groups and the permissions they grant.

Also the shapes of permissions (``Permissions``, ``PermissionChanges``), which the user
routes (api/users.py) answer and take too."""

from flask import jsonify

from webui.api import bp
from webui.api.declare import documented
from webui.api.payloads import group_json, json_object
from webui.core.apidoc import (
    BOOLEAN,
    INTEGER,
    STRING,
    array,
    component,
    enum,
    nullable,
    obj,
)
from webui.core.catalog import PERMISSIONS, SECTION_LABELS
from webui.core.parsers import MAX_ID_LENGTH, MAX_MEMBER_IDS
from webui.models import ROLES
from webui.security.permissions import require_role, session_only
from webui.services import groups

TAG = "Administration"
MAX_NAME = 100  # characters of a group's name (the column's)
MAX_DESCRIPTION = 500

# --- what the routes declare (core/apidoc.py) ----------------------------------------------


def permission_sections(leaf: dict, closed: bool) -> dict:
    """The catalog's permissions nested by section ({"features": {"api_keys": …}}), each
    leaf shaped ``leaf``; ``closed`` (answers) lists every one of them."""
    sections: dict[str, dict] = {}
    for name, permission in PERMISSIONS.items():
        section, _, entry = name.partition(".")
        sections.setdefault(section, {})[entry] = {**leaf, "description": permission.label}
    return obj(
        {
            section: {
                **obj(leaves, tuple(leaves) if closed else (), closed=True),
                "description": SECTION_LABELS.get(section, section),
            }
            for section, leaves in sections.items()
        },
        tuple(sections) if closed else (),
        closed=True,
    )


PERMISSION_SET = component("Permissions", permission_sections(BOOLEAN, closed=True))
PERMISSION_CHANGES = component(
    "PermissionChanges",
    {
        **permission_sections(BOOLEAN, closed=False),
        "description": "Any of the catalog's permissions, nested by section, each true or "
        "false; an entry left out is not changed (defaults) or not granted (a group).",
    },
)
EPOCH = {**INTEGER, "description": "Epoch seconds."}
GROUP_FIELDS = {
    "id": STRING,
    "name": STRING,
    "description": STRING,
    "permissions": {**PERMISSION_SET, "description": "What the group grants its members."},
    "user_ids": {**array(STRING), "description": "Its members' ids."},
    "created_at": EPOCH,
}
GROUP = component("Group", obj(GROUP_FIELDS, tuple(GROUP_FIELDS), closed=True))
GROUP_INFO = component(
    "GroupInfo",
    obj(
        {**GROUP_FIELDS, "member_count": INTEGER},
        (*GROUP_FIELDS, "member_count"),
        closed=True,
    ),
)
GROUP_MEMBER = component(
    "GroupMember",
    obj(
        {"id": STRING, "name": STRING, "email": STRING, "role": enum(*ROLES)},
        ("id", "name", "email", "role"),
        closed=True,
    ),
)
DONE = {**BOOLEAN, "description": "Always true."}
GROUP_NAME = {
    **STRING,
    "minLength": 1,
    "maxLength": MAX_NAME,
    "pattern": r"\S",
    "description": "Unique, whatever the case.",
    "x-refusal": f"must be text of 1 to {MAX_NAME} characters, not only spaces",
}
DESCRIPTION = {
    **nullable(STRING),
    "maxLength": MAX_DESCRIPTION,
    "description": 'Null is taken as "".',
    "x-refusal": f"must be text of at most {MAX_DESCRIPTION} characters, or null",
}
USER_IDS = {
    **array({**STRING, "maxLength": MAX_ID_LENGTH}, maxItems=MAX_MEMBER_IDS),
    "description": "Ids of people (each counted once); an unknown id is a 404.",
}
NEW_GROUP = obj(
    {
        "name": GROUP_NAME,
        "description": DESCRIPTION,
        "permissions": {
            **nullable(PERMISSION_CHANGES),
            "description": "What the group grants; null or left out grants nothing.",
        },
    },
    ("name",),
)
GROUP_CHANGES = obj(
    {
        "name": GROUP_NAME,
        "description": DESCRIPTION,
        "permissions": {
            **PERMISSION_CHANGES,
            "description": "Replaces what the group grants: an entry left out grants nothing.",
        },
        "user_ids": {**USER_IDS, "description": f"Replaces the members. {USER_IDS['description']}"},
    }
)
MEMBER_CHANGES = obj({"user_ids": USER_IDS}, ("user_ids",))


@bp.get("/api/v1/groups/")
@documented("Every group, by name", TAG, answers={200: array(GROUP)})
@require_role("admin")
def list_groups():
    return jsonify([group_json(group) for group in groups.all_groups()])


@bp.get("/api/v1/groups/id/<group_id>")
@documented("A group", TAG, answers={200: GROUP})
@require_role("admin")
def read_group(group_id: str):
    return jsonify(group_json(groups.get_group_or_404(group_id)))


@bp.post("/api/v1/groups/create")
@documented("Create a group", TAG, body=NEW_GROUP, answers={200: GROUP})
@require_role("admin")
@session_only
def create_group():
    body = json_object()
    group = groups.create_group(body.get("name"), body.get("description"), body.get("permissions"))
    return jsonify(group_json(group))


@bp.post("/api/v1/groups/id/<group_id>/update")
@documented(
    "Change a group: its name, description, permissions or members",
    TAG,
    body=GROUP_CHANGES,
    answers={200: GROUP},
    description="Only the fields sent change; all of them are checked before any does.",
)
@require_role("admin")
@session_only
def update_group(group_id: str):
    body = json_object()
    group = groups.get_group_or_404(group_id)
    return jsonify(group_json(groups.update_group(group, body)))


@bp.delete("/api/v1/groups/id/<group_id>/delete")
@documented("Delete a group", TAG, answers={200: DONE})
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
@documented("A group and how many people it holds", TAG, answers={200: GROUP_INFO})
@require_role("admin")
def read_group_info(group_id: str):
    return jsonify(group_with_count(group_id))


def members_json(group_id: str) -> list[dict]:
    members = groups.get_group_or_404(group_id).members
    return [{"id": m.id, "name": m.name, "email": m.email, "role": m.role} for m in members]


@bp.post("/api/v1/groups/id/<group_id>/users")
@bp.get("/api/v1/groups/id/<group_id>/members")
@documented("The people in a group", TAG, answers={200: array(GROUP_MEMBER)})
@require_role("admin")
def group_members(group_id: str):
    return jsonify(members_json(group_id))


@bp.post("/api/v1/groups/id/<group_id>/users/add")
@documented(
    "Add people to a group",
    TAG,
    body=MEMBER_CHANGES,
    answers={200: GROUP_INFO},
    description="Ids already in the group change nothing.",
)
@require_role("admin")
@session_only
def add_group_members(group_id: str):
    group = groups.get_group_or_404(group_id)
    groups.add_members(group, json_object().get("user_ids"))
    return jsonify(group_with_count(group_id))


@bp.post("/api/v1/groups/id/<group_id>/users/remove")
@documented(
    "Remove people from a group",
    TAG,
    body=MEMBER_CHANGES,
    answers={200: GROUP_INFO},
    description="Ids not in the group change nothing.",
)
@require_role("admin")
@session_only
def remove_group_members(group_id: str):
    group = groups.get_group_or_404(group_id)
    groups.remove_members(group, json_object().get("user_ids"))
    return jsonify(group_with_count(group_id))
