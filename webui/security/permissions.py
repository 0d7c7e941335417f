"""The permission catalog, effective permissions and the declarations views make.

Views declare what they need with the decorators below; the request guard
(``guard.py``) reads the declarations and is the only place that decides.
A view without any declaration needs a signed-in, approved user.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import g

from webui import settings
from webui.extensions import db
from webui.models import Group, User, group_members


@dataclass(frozen=True)
class Permission:
    label: str
    default: bool


CATALOG: dict[str, Permission] = {
    "features.api_keys": Permission("API Keys", False),
    "chat.file_upload": Permission("Upload files", True),
    "workspace.knowledge": Permission("Knowledge collections", False),
    "workspace.models": Permission("Models workspace", False),
}

SECTION_LABELS = {"features": "Features", "chat": "Chat", "workspace": "Workspace"}


def default_setting_name(permission: str) -> str:
    """``features.api_keys`` → ``USER_PERMISSIONS_FEATURES_API_KEYS`` (Open WebUI's env name)."""
    return "USER_PERMISSIONS_" + permission.upper().replace(".", "_")


for _name, _permission in CATALOG.items():
    settings.register(
        settings.Setting(
            default_setting_name(_name),
            settings.parse_bool,
            _permission.default,
            f"Default permission: {_permission.label}",
        )
    )

DEFAULT_PERMISSION_SETTINGS = [default_setting_name(name) for name in CATALOG]


# --- nested dicts as the API shows them -------------------------------------


def nest(flat: dict[str, bool]) -> dict[str, dict[str, bool]]:
    """{"features.api_keys": True} → {"features": {"api_keys": True}}, with every catalog
    entry listed."""
    nested: dict[str, dict[str, bool]] = {}
    for name in CATALOG:
        section, _, leaf = name.partition(".")
        nested.setdefault(section, {})[leaf] = bool(flat.get(name, False))
    return nested


def flatten(nested: Any) -> dict[str, bool]:
    """Validate a nested permissions dict from a client; raises ValueError naming the entry."""
    if not isinstance(nested, dict):
        raise ValueError("permissions must be an object like {\"features\": {\"api_keys\": true}}")
    flat: dict[str, bool] = {}
    for section, leaves in nested.items():
        if not isinstance(leaves, dict):
            raise ValueError(f"permissions.{section} must be an object")
        for leaf, granted in leaves.items():
            name = f"{section}.{leaf}"
            if name not in CATALOG:
                raise ValueError(f"unknown permission '{name}'")
            if not isinstance(granted, bool):
                raise ValueError(f"permission '{name}' must be true or false")
            flat[name] = granted
    return flat


# --- effective permissions ---------------------------------------------------


def default_permissions() -> dict[str, bool]:
    return {name: bool(settings.get_setting(default_setting_name(name))) for name in CATALOG}


def user_groups(user: User) -> list[tuple[str, dict]]:
    """(id, grants) of each of the user's groups, read once per request."""
    cache = g.setdefault("_groups", {})
    if user.id not in cache:
        cache[user.id] = [
            (group_id, grants or {})
            for group_id, grants in db.session.execute(
                sa.select(Group.id, Group.permissions)
                .join(group_members, group_members.c.group_id == Group.id)
                .where(group_members.c.user_id == user.id)
            )
        ]
    return cache[user.id]


def remember_groups(user: User, groups: list[tuple[str, dict]]) -> None:
    """Let the guard hand over the groups it loaded with the key (saves a query)."""
    g.setdefault("_groups", {})[user.id] = groups


def group_ids(user: User) -> set[str]:
    return {group_id for group_id, _ in user_groups(user)}


def effective_permissions(user: User) -> dict[str, bool]:
    """Every catalog permission, by the rule of ``has_permission``."""
    return {name: has_permission(user, name) for name in CATALOG}


def has_permission(user: User, permission: str) -> bool:
    """Admin: everything; user: the default OR any of their groups; pending: nothing."""
    if permission not in CATALOG or user.role not in ("admin", "user"):
        return False
    if user.role == "admin":
        return True
    if any(grants.get(permission) is True for _, grants in user_groups(user)):
        return True
    return bool(settings.get_setting(default_setting_name(permission)))


# --- declarations on views ---------------------------------------------------

ACCESS_ATTRIBUTE = "_webui_access"


@dataclass(frozen=True)
class Access:
    public: bool = False
    allow_pending: bool = False
    session_only: bool = False
    role: str | None = None
    permission: str | None = None


def _declare(**changes: Any) -> Callable:
    def decorator(view: Callable) -> Callable:
        current = getattr(view, ACCESS_ATTRIBUTE, Access())
        setattr(view, ACCESS_ATTRIBUTE, Access(**{**current.__dict__, **changes}))
        return view

    return decorator


def access_of(view: Callable | None) -> Access:
    return getattr(view, ACCESS_ATTRIBUTE, Access())


public = _declare(public=True)
"""Anyone, signed in or not."""

allow_pending = _declare(allow_pending=True)
"""Signed-in users still waiting for approval may use it too."""

session_only = _declare(session_only=True)
"""Needs a browser session: a request authenticated by an API key gets 403."""


def require_role(role: str) -> Callable:
    return _declare(role=role)


def require_permission(permission: str) -> Callable:
    if permission not in CATALOG:
        raise ValueError(f"unknown permission {permission}")
    return _declare(permission=permission)
