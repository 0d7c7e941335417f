"""Creating, listing and deleting personal API keys; pages and the JSON API share it."""

from typing import Any, Optional

import sqlalchemy as sa

from webui import settings
from webui.errors import ServiceError
from webui.extensions import db
from webui.models import ApiKey, User, now
from webui.security import keys
from webui.security.permissions import has_permission
from webui.services import audit, key_policy

MAX_NAME_LENGTH = 100
DEFAULT_KEY_NAME = "default"  # the key Open WebUI's single-key endpoints manage


def creation_blocker(user: User) -> Optional[str]:
    """Why this person may not create keys right now, or None when they may."""
    if not settings.get_setting("ENABLE_API_KEYS"):
        return (
            "API keys are turned off. An administrator can turn them on in "
            "Admin Panel > Settings > General > Enable API Keys."
        )
    if not has_permission(user, "features.api_keys"):
        return (
            "Your account lacks the API Keys permission (features.api_keys). An administrator "
            "can grant it in Admin Panel > Users > Groups or Default Permissions."
        )
    return None


def clean_name(name: Any, user: User, replacing: Optional[ApiKey] = None) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ServiceError(400, "name is required: give the key a name such as 'Monitoring Bot'.")
    name = name.strip()
    if len(name) > MAX_NAME_LENGTH:
        raise ServiceError(400, f"name must be at most {MAX_NAME_LENGTH} characters.")
    clash = db.session.scalar(
        sa.select(ApiKey).where(ApiKey.user_id == user.id, ApiKey.name == name)
    )
    if clash is not None and clash is not replacing:
        raise ServiceError(400, f"name: you already have a key named {name!r}.")
    return name


def clean_expiry(expires_at: Any) -> Optional[int]:
    if expires_at is None:
        return None
    if isinstance(expires_at, bool) or not isinstance(expires_at, (int, float)):
        raise ServiceError(400, "expires_at must be a time in epoch seconds, or null for never.")
    expires_at = int(expires_at)
    if expires_at <= now():
        raise ServiceError(400, "expires_at must be in the future.")
    return expires_at


def clean_allowed_endpoints(entries: Any) -> Optional[list[str]]:
    if entries is None:
        return None
    if not isinstance(entries, list):
        raise ServiceError(
            400, "allowed_endpoints must be a list of paths such as ['/api/models']."
        )
    try:
        return settings.split_endpoints(entries)
    except ValueError as error:
        raise ServiceError(400, f"allowed_endpoints: {error}.") from None


def clean_read_only(read_only: Any) -> bool:
    if read_only is None:
        return False
    if not isinstance(read_only, bool):
        raise ServiceError(400, "read_only must be true or false.")
    return read_only


def create_key(
    user: User,
    name: Any,
    expires_at: Any = None,
    allowed_endpoints: Any = None,
    read_only: Any = None,
    replacing: Optional[ApiKey] = None,
    rate_limit: Any = None,
) -> tuple[ApiKey, str]:
    """Validate everything, then store the key's digest; returns the row and the only copy
    of the secret. ``replacing`` is deleted in the same transaction."""
    blocker = creation_blocker(user)
    if blocker:
        raise ServiceError(403, blocker)
    fields = {
        "name": clean_name(name, user, replacing),
        "expires_at": key_policy.check_expiry(clean_expiry(expires_at)),
        "allowed_endpoints": clean_allowed_endpoints(allowed_endpoints),
        "read_only": clean_read_only(read_only),
        "rate_limit_per_minute": key_policy.clean_rate_limit(rate_limit),
    }
    secret = keys.generate_key()
    if replacing is not None:
        audit.key_deleted(replacing)
        db.session.delete(replacing)
        db.session.flush()
    api_key = ApiKey(
        user_id=user.id,
        digest=keys.key_digest(secret),
        prefix=keys.visible_prefix(secret),
        last_chars=keys.visible_suffix(secret),
        **fields,
    )
    db.session.add(api_key)
    audit.key_created(api_key)
    db.session.commit()
    return api_key, secret


def list_keys(user: User) -> list[ApiKey]:
    return list(
        db.session.scalars(
            sa.select(ApiKey)
            .where(ApiKey.user_id == user.id)
            .order_by(ApiKey.created_at.desc(), ApiKey.name)
        )
    )


def get_own_key_or_404(user: User, key_id: str) -> ApiKey:
    api_key = db.session.get(ApiKey, key_id)
    if api_key is None or api_key.user_id != user.id:
        raise ServiceError(404, "API key not found.")
    return api_key


def find_named_key(user: User, name: str) -> Optional[ApiKey]:
    return db.session.scalar(
        sa.select(ApiKey).where(ApiKey.user_id == user.id, ApiKey.name == name)
    )


def delete_key(api_key: ApiKey) -> None:
    audit.key_deleted(api_key)
    db.session.delete(api_key)
    db.session.commit()
