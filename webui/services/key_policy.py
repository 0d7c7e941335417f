"""The administrator's policy for new keys: a maximum lifetime; per-key rate limits."""

from typing import Any, Optional

from webui import settings
from webui.errors import ServiceError
from webui.models import now

DAY = 86400
MAX_KEY_RATE_LIMIT = 1_000_000

settings.register(
    settings.Setting(
        "API_KEYS_MAX_LIFETIME_DAYS",
        settings.parse_optional_positive_int,
        None,
        "Maximum API key lifetime (days)",
        "Empty: keys may never expire. Otherwise every new key must expire within this many days.",
    )
)


def max_lifetime_days() -> Optional[int]:
    return settings.get_setting("API_KEYS_MAX_LIFETIME_DAYS")


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
    if value is None or value == "":
        return None
    wrong = "rate_limit must be a whole number of requests a minute, or null for no limit."
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ServiceError(400, wrong)
    if isinstance(value, str) and not value.strip().isdigit():
        raise ServiceError(400, wrong)
    number = int(value)
    if not 1 <= number <= MAX_KEY_RATE_LIMIT:
        raise ServiceError(
            400, f"rate_limit must be from 1 to {MAX_KEY_RATE_LIMIT} requests a minute."
        )
    return number
