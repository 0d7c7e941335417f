"""Who a request acts for: one immutable value, the same shape for a browser session and
an API key. The guard builds it; views and services read it and never change it."""

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Optional

from webui.models import now
from webui.models.accounts import HasRole
from webui.models.keys import is_dormant


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """The API key a request was made with (never the secret or its digest)."""

    id: str
    user_id: str
    name: str
    prefix: str
    expires_at: Optional[int]
    last_used_at: Optional[int]
    last_used_ip: Optional[str]
    allowed_endpoints: Optional[tuple[str, ...]]
    read_only: bool
    rate_limit_per_minute: Optional[int]
    allowed_models: Optional[tuple[str, ...]] = None
    allowed_networks: Optional[tuple[str, ...]] = None
    # Set when the request came with the key's previous secret: when that secret stops working.
    old_secret_until: Optional[int] = None
    created_at: int = 0
    disabled_at: Optional[int] = None
    token_quota: Optional[int] = None
    request_quota: Optional[int] = None
    quota_period: Optional[str] = None

    def is_expired(self, at: Optional[int] = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (at or now())

    def is_dormant(self, days: Optional[int]) -> bool:
        return is_dormant(self.last_used_at, self.created_at, days)


@dataclass(frozen=True, slots=True)
class Principal(HasRole):
    id: str
    name: str
    email: str
    role: str
    # (group id, that group's grants) for each group the person belongs to
    groups: tuple[tuple[str, Mapping[str, bool]], ...]
    key: Optional[KeyInfo] = None
    settings_version: Any = None
    is_service: bool = False  # a service account: it acts only through its keys
    # The token and request quotas on this request with their use (security/quotas.py).
    quotas: tuple = ()

    @property
    def group_ids(self) -> frozenset[str]:
        return frozenset(group_id for group_id, _ in self.groups)

    @property
    def grants(self) -> tuple[Mapping[str, bool], ...]:
        return tuple(grants for _, grants in self.groups)

    # What Flask-Login asks of ``current_user``; the session cookie is written from the
    # ORM user at sign-in, never from a principal.
    is_authenticated = True
    is_active = True
    is_anonymous = False


def frozen_groups(rows) -> tuple[tuple[str, Mapping[str, bool]], ...]:
    """(id, grants) pairs as read from the database, made read-only."""
    return tuple(
        (group_id, MappingProxyType(dict(grants or {})))
        for group_id, grants in rows
        if group_id is not None
    )
