"""Personal API keys: creating, listing and deleting them, under the administrator's
policy for new keys (a maximum lifetime); pages and the JSON API share it."""

import math
from typing import Any, Optional

import sqlalchemy as sa

from webui.core import audit
from webui.core.parsers import optional_whole_number, parse_field, split_endpoints
from webui.core.settings import get_setting
from webui.errors import ServiceError
from webui.extensions import db
from webui.models import ApiKey, now
from webui.security import key_format
from webui.security.permissions import keys_unusable_reason
from webui.security.principal import Principal

MAX_NAME_LENGTH = 100
DEFAULT_KEY_NAME = "default"  # the key Open WebUI's single-key endpoints manage
DAY = 86400
MAX_KEY_RATE_LIMIT = 1_000_000
LATEST_EXPIRY_DAYS = 36500  # a hundred years: later than that is "never", and says so


def clean_name(name: Any, user: Principal, replacing: Optional[ApiKey] = None) -> str:
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
    wrong = "expires_at must be a time in epoch seconds, or null for never."
    if isinstance(expires_at, bool) or not isinstance(expires_at, (int, float)):
        raise ServiceError(400, wrong)
    if isinstance(expires_at, float) and not math.isfinite(expires_at):
        raise ServiceError(400, wrong)
    if expires_at <= now():
        raise ServiceError(400, "expires_at must be in the future.")
    if expires_at > now() + LATEST_EXPIRY_DAYS * DAY:
        raise ServiceError(
            400, "expires_at must be within 100 years; use null for a key that never expires."
        )
    return int(expires_at)


def clean_allowed_endpoints(entries: Any) -> Optional[list[str]]:
    if entries is None:
        return None
    if not isinstance(entries, list):
        raise ServiceError(
            400, "allowed_endpoints must be a list of paths such as ['/api/models']."
        )
    try:
        return split_endpoints(entries)
    except ValueError as error:
        raise ServiceError(400, f"allowed_endpoints: {error}.") from None


def clean_read_only(read_only: Any) -> bool:
    if read_only is None:
        return False
    if not isinstance(read_only, bool):
        raise ServiceError(400, "read_only must be true or false.")
    return read_only


def create_key(
    user: Principal,
    name: Any,
    expires_at: Any = None,
    allowed_endpoints: Any = None,
    read_only: Any = None,
    replacing: Optional[ApiKey] = None,
    rate_limit: Any = None,
) -> tuple[ApiKey, str]:
    """Validate everything, then store the key's digest; returns the row and the only copy
    of the secret. ``replacing`` is deleted in the same transaction."""
    blocker = keys_unusable_reason(user)
    if blocker:
        raise ServiceError(403, blocker)
    fields = {
        "name": clean_name(name, user, replacing),
        "expires_at": check_expiry(clean_expiry(expires_at)),
        "allowed_endpoints": clean_allowed_endpoints(allowed_endpoints),
        "read_only": clean_read_only(read_only),
        "rate_limit_per_minute": clean_rate_limit(rate_limit),
    }
    secret = key_format.generate_key()
    if replacing is not None:
        audit.key_deleted(replacing)
        db.session.delete(replacing)
        db.session.flush()
    api_key = ApiKey(
        user_id=user.id,
        digest=key_format.key_digest(secret),
        prefix=key_format.visible_prefix(secret),
        last_chars=key_format.visible_suffix(secret),
        **fields,
    )
    db.session.add(api_key)
    audit.key_created(api_key)
    db.session.commit()
    return api_key, secret


def list_keys(user: Principal) -> list[ApiKey]:
    return list(
        db.session.scalars(
            sa.select(ApiKey)
            .where(ApiKey.user_id == user.id)
            .order_by(ApiKey.created_at.desc(), ApiKey.name)
        )
    )


def get_own_key_or_404(user: Principal, key_id: str) -> ApiKey:
    api_key = db.session.get(ApiKey, key_id)
    if api_key is None or api_key.user_id != user.id:
        raise ServiceError(404, "API key not found.")
    return api_key


def find_named_key(user: Principal, name: str) -> Optional[ApiKey]:
    return db.session.scalar(
        sa.select(ApiKey).where(ApiKey.user_id == user.id, ApiKey.name == name)
    )


def delete_key(api_key: ApiKey) -> None:
    audit.key_deleted(api_key)
    db.session.delete(api_key)
    db.session.commit()


# --- the administrator's policy for new keys --------------------------------------


def max_lifetime_days() -> Optional[int]:
    return get_setting("API_KEYS_MAX_LIFETIME_DAYS")


def max_expiry() -> Optional[int]:
    """The latest expiry a new key may have (epoch seconds), or None when unlimited."""
    days = max_lifetime_days()
    return None if days is None else now() + days * DAY


def check_expiry(expires_at: Optional[int]) -> Optional[int]:
    """``expires_at`` (already validated as None or a future time) when the policy allows it."""
    latest = max_expiry()
    if latest is None:
        return expires_at
    days = max_lifetime_days()
    if expires_at is None:
        raise ServiceError(
            400,
            f"expires_at is required: the administrator's policy (API_KEYS_MAX_LIFETIME_DAYS) "
            f"says keys must expire within {days} days.",
        )
    # A minute of slack: a form's "N days" is computed a moment before this check.
    if expires_at > latest + 60:
        raise ServiceError(
            400,
            f"expires_at is too late: the administrator's policy (API_KEYS_MAX_LIFETIME_DAYS) "
            f"says keys must expire within {days} days; choose an earlier date.",
        )
    return expires_at


def allowed_expiry_choices(choices: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The account page's expiry choices the policy allows ("never", "N" days, "date");
    the maximum itself is offered when no listed number of days equals it."""
    days = max_lifetime_days()
    if days is None:
        return list(choices)
    allowed = [(value, label) for value, label in choices if value.isdigit() and int(value) <= days]
    if str(days) not in {value for value, _ in allowed}:
        allowed.append((str(days), f"{days} days (the maximum)"))
    allowed += [(value, label) for value, label in choices if value == "date"]
    return allowed


def clean_rate_limit(value: Any) -> Optional[int]:
    """A key's own limit in requests a minute: a whole number, or None for no limit."""
    return parse_field("rate_limit", optional_whole_number(1, MAX_KEY_RATE_LIMIT), value)
