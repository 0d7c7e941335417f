"""Effective permissions and the declarations views make (the catalog of permissions
is in ``core/catalog.py``).

Views declare what they need with the decorators below; the request guard
(``guard.py``) reads the declarations and is the only place that decides.
A view without any declaration needs a signed-in, approved user.
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from webui.core.catalog import PERMISSIONS, default_setting_name
from webui.core.settings import get_setting
from webui.models import User
from webui.security.principal import Principal

# --- nested dicts as the API shows them -------------------------------------


def nest(flat: dict[str, bool]) -> dict[str, dict[str, bool]]:
    """{"features.api_keys": True} → {"features": {"api_keys": True}}, with every catalog
    entry listed."""
    nested: dict[str, dict[str, bool]] = {}
    for name in PERMISSIONS:
        section, _, leaf = name.partition(".")
        nested.setdefault(section, {})[leaf] = bool(flat.get(name, False))
    return nested


def flatten(nested: Any) -> dict[str, bool]:
    """Validate a nested permissions dict from a client; raises ValueError naming the entry."""
    if not isinstance(nested, dict):
        raise ValueError('permissions must be an object like {"features": {"api_keys": true}}')
    flat: dict[str, bool] = {}
    for section, leaves in nested.items():
        if not isinstance(leaves, dict):
            raise ValueError(f"permissions.{section} must be an object")
        for leaf, granted in leaves.items():
            name = f"{section}.{leaf}"
            if name not in PERMISSIONS:
                raise ValueError(f"unknown permission '{name}'")
            if not isinstance(granted, bool):
                raise ValueError(f"permission '{name}' must be true or false")
            flat[name] = granted
    return flat


# --- effective permissions ---------------------------------------------------


def default_permissions() -> dict[str, bool]:
    """What every ``user`` has before any group grants more."""
    return {name: bool(get_setting(default_setting_name(name))) for name in PERMISSIONS}


def is_granted(role: str, group_grants: Iterable[Mapping[str, bool]], permission: str) -> bool:
    """Admin: everything; user: the default OR any of their groups; pending: nothing."""
    if permission not in PERMISSIONS or role not in ("admin", "user"):
        return False
    if role == "admin":
        return True
    if any(grants.get(permission) is True for grants in group_grants):
        return True
    return bool(get_setting(default_setting_name(permission)))


def has_permission(principal: Principal, permission: str) -> bool:
    return is_granted(principal.role, principal.grants, permission)


def effective_permissions(role: str, group_grants: Iterable[Mapping[str, bool]]) -> dict:
    """Every catalog permission, by the rule of ``is_granted``."""
    grants = list(group_grants)
    return {name: is_granted(role, grants, name) for name in PERMISSIONS}


def keys_unusable_reason(principal: Principal) -> str | None:
    """Why this person's API keys may not be created or used right now; None when they may."""
    if not get_setting("ENABLE_API_KEYS"):
        return (
            "API keys are turned off: an administrator can enable them in "
            "Admin Panel > Settings > General > Enable API Keys."
        )
    # A service account exists only to hold keys: it needs no features.api_keys.
    if not principal.is_service and not has_permission(principal, "features.api_keys"):
        return (
            "Your account lacks the API Keys permission (features.api_keys); an administrator "
            "can grant it in Admin Panel > Groups or Admin Panel > Default Permissions."
        )
    return None


def permissions_of(principal: Principal) -> dict[str, bool]:
    return effective_permissions(principal.role, principal.grants)


def user_permissions(user: User) -> dict[str, bool]:
    """A person's effective permissions, as an admin's list of users shows them."""
    return effective_permissions(user.role, [group.permissions or {} for group in user.groups])


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


def declared_refusal(principal: Principal, access: Access, by_key: bool) -> str | None:
    """Why a view's declaration refuses this approved person (through a key when ``by_key``);
    None when it lets them in. The guard decides with it; the key page asks it too."""
    if access.public:
        return None
    if access.session_only and by_key:
        return (
            "This action needs a browser session: API keys cannot manage keys, "
            "users, groups or settings."
        )
    if access.role and principal.role != access.role:
        return f"This needs the {access.role} role."
    if access.permission and not has_permission(principal, access.permission):
        return f"You lack the '{access.permission}' permission; ask an administrator to grant it."
    return None


public = _declare(public=True)
"""Anyone, signed in or not."""

allow_pending = _declare(allow_pending=True)
"""Signed-in users still waiting for approval may use it too."""

session_only = _declare(session_only=True)
"""Needs a browser session: a request authenticated by an API key gets 403."""


def require_role(role: str) -> Callable:
    return _declare(role=role)


def require_permission(permission: str) -> Callable:
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission}")
    return _declare(permission=permission)
