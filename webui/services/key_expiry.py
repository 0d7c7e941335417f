"""Expiry notices: the owner's keys that expire within a week (a stronger notice within a
day), and what a replacement for such a key starts from."""

from dataclasses import dataclass
from typing import Optional

import sqlalchemy as sa

from webui.extensions import db
from webui.models import ApiKey, now
from webui.services.api_keys import DAY, MAX_NAME_LENGTH, max_lifetime_days

NOTICE_DAYS = 7
URGENT_DAYS = 1
REPLACEMENT_SUFFIX = " (replacement)"


@dataclass(frozen=True)
class ExpiringKey:
    id: str
    name: str
    expires_at: int
    urgent: bool  # expires within a day


def expiring_keys(user_id: str) -> list[ExpiringKey]:
    """The person's keys that expire within NOTICE_DAYS, soonest first (one indexed read)."""
    at = now()
    rows = db.session.execute(
        sa.select(ApiKey.id, ApiKey.name, ApiKey.expires_at)
        .where(
            ApiKey.user_id == user_id,
            ApiKey.expires_at > at,
            ApiKey.expires_at <= at + NOTICE_DAYS * DAY,
        )
        .order_by(ApiKey.expires_at, ApiKey.name)
    )
    return [
        ExpiringKey(key_id, name, expires_at, expires_at <= at + URGENT_DAYS * DAY)
        for key_id, name, expires_at in rows
    ]


def replacement_name(name: str) -> str:
    """ "ci-bot (replacement)", the original cut short so the whole fits a key's name."""
    return name[: MAX_NAME_LENGTH - len(REPLACEMENT_SUFFIX)] + REPLACEMENT_SUFFIX


def replacement_lifetime_days(api_key: ApiKey) -> Optional[int]:
    """The key's lifetime in whole days (at least one), held to the administrator's maximum;
    None for a key that never expires, when the policy allows that."""
    longest = max_lifetime_days()
    if api_key.expires_at is None:
        return longest
    days = max(1, round((api_key.expires_at - api_key.created_at) / DAY))
    return days if longest is None else min(days, longest)
