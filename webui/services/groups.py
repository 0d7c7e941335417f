"""Groups: who belongs, and the permissions they grant their members."""

from collections.abc import Iterable
from typing import Any, Optional

import sqlalchemy as sa

from webui.core import audit
from webui.core.parsers import parse_field, unique, user_id_list
from webui.errors import ServiceError
from webui.extensions import db
from webui.models import Group, User
from webui.security.display_names import refuse_hidden_characters
from webui.security.permissions import flatten


def get_group_or_404(group_id: str) -> Group:
    group = db.session.get(Group, group_id)
    if group is None:
        raise ServiceError(404, "Group not found.")
    return group


def _clean_group_name(name: Any, group: Optional[Group]) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ServiceError(400, "Group name is required.")
    name = name.strip()
    if len(name) > 100:
        raise ServiceError(400, "Group name must be at most 100 characters.")
    refuse_hidden_characters(name, "Group name")
    clash = db.session.scalar(sa.select(Group).where(sa.func.lower(Group.name) == name.lower()))
    if clash is not None and clash is not group:
        raise ServiceError(400, f"A group named {name!r} already exists.")
    return name


def _clean_description(description: Any) -> str:
    if description is None:
        return ""
    if not isinstance(description, str) or len(description) > 500:
        raise ServiceError(400, "Description must be text of at most 500 characters.")
    return description.strip()


def _clean_permissions(nested: Any) -> dict[str, bool]:
    try:
        return {name: True for name, granted in flatten(nested).items() if granted}
    except ValueError as error:
        raise ServiceError(400, str(error).capitalize() + ".") from None


def _members(user_ids: Any) -> list[User]:
    """The accounts a request's ``user_ids`` name, each once; 404 for an unknown id."""
    wanted = unique(parse_field("user_ids", user_id_list, user_ids))
    users = list(db.session.scalars(sa.select(User).where(User.id.in_(wanted)))) if wanted else []
    missing = set(wanted) - {u.id for u in users}
    if missing:
        raise ServiceError(404, f"Unknown user id: {sorted(missing)[0]}.")
    return users


def create_group(name: Any, description: Any = None, permissions: Any = None) -> Group:
    group = Group(
        name=_clean_group_name(name, None),
        description=_clean_description(description),
        permissions=_clean_permissions(permissions or {}),
    )
    db.session.add(group)
    audit.group_created(group)
    db.session.commit()
    return group


def update_group(group: Group, changes: dict[str, Any]) -> Group:
    """Apply any of name, description, permissions, user_ids; validated before anything changes."""
    values: dict[str, Any] = {}
    if "name" in changes:
        values["name"] = _clean_group_name(changes["name"], group)
    if "description" in changes:
        values["description"] = _clean_description(changes["description"])
    if "permissions" in changes:
        values["permissions"] = _clean_permissions(changes["permissions"])
    if "user_ids" in changes:
        values["members"] = _members(changes["user_ids"])
    return _apply(group, values)


def _apply(group: Group, values: dict[str, Any]) -> Group:
    audit.group_updated(group, values)
    for attribute, value in values.items():
        setattr(group, attribute, value)
    db.session.commit()
    return group


def delete_group(group: Group) -> None:
    audit.group_deleted(group)
    db.session.delete(group)
    db.session.commit()


def groups_by_ids(group_ids: Iterable[str]) -> list[Group]:
    return list(db.session.scalars(sa.select(Group).where(Group.id.in_(list(group_ids)))))


def all_groups() -> list[Group]:
    return list(db.session.scalars(sa.select(Group).order_by(Group.name)))


def add_members(group: Group, user_ids: Any) -> Group:
    """Add people by id (audited as a change of members); ids already in it change nothing.
    The bound is on the ids sent, not on the group's size."""
    present = {member.id for member in group.members}
    joining = [user for user in _members(user_ids) if user.id not in present]
    return _apply(group, {"members": [*group.members, *joining]})


def remove_members(group: Group, user_ids: Any) -> Group:
    """Remove people by id; ids not in the group change nothing."""
    leaving = {user.id for user in _members(user_ids)}
    return _apply(group, {"members": [m for m in group.members if m.id not in leaving]})
