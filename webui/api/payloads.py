"""What the API modules share: reading JSON bodies, and the shapes of people and groups."""

from typing import Any

from flask import abort, request

from webui.models import Group, User
from webui.security.permissions import nest
from webui.security.principal import Principal


def json_object() -> dict[str, Any]:
    """The request body as a JSON object, or 400 saying what was expected."""
    body = request.get_json(silent=True, force=True)
    if not isinstance(body, dict):
        abort(400, "The request body must be a JSON object (Content-Type: application/json).")
    return body


def user_json(user: User | Principal, permissions: dict[str, bool]) -> dict[str, Any]:
    return {
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "role": user.role,
        "permissions": nest(permissions),
    }


def group_json(group: Group) -> dict[str, Any]:
    return {
        "id": group.id,
        "name": group.name,
        "description": group.description,
        "permissions": nest(group.permissions or {}),
        "user_ids": [member.id for member in group.members],
        "created_at": group.created_at,
    }
