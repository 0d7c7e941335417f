"""Personal API keys: only a digest of the secret is stored."""

from typing import Any, Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webui.extensions import db
from webui.models.accounts import User
from webui.models.base import new_id, now

DAY = 86400
DORMANT = "dormant"  # why a key was disabled: unused for longer than the policy allows


def is_dormant(
    last_used_at: Optional[int], created_at: int, days: Optional[int], at: Optional[int] = None
) -> bool:
    """Unused (since it was made, if never used) for more than ``days`` days; never when the
    policy is off (``days`` None)."""
    if days is None:
        return False
    return (last_used_at or created_at) < (at or now()) - days * DAY


class ApiKey(db.Model):
    __tablename__ = "api_keys"
    __table_args__ = (sa.UniqueConstraint("user_id", "name", name="uq_api_keys_user_name"),)

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(
        sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(100))
    digest: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(20))
    last_chars: Mapped[str] = mapped_column(sa.String(8))
    created_at: Mapped[int] = mapped_column(sa.BigInteger, default=now)
    expires_at: Mapped[Optional[int]] = mapped_column(sa.BigInteger)
    last_used_at: Mapped[Optional[int]] = mapped_column(sa.BigInteger)
    last_used_ip: Mapped[Optional[str]] = mapped_column(sa.String(64))
    # None: every endpoint the global rules allow; a list narrows that further.
    allowed_endpoints: Mapped[Optional[list]] = mapped_column(sa.JSON)
    read_only: Mapped[bool] = mapped_column(default=False)
    # The key's own limit in requests a minute (None: only the global rules apply).
    rate_limit_per_minute: Mapped[Optional[int]] = mapped_column(sa.Integer)
    # None: every model the owner may use; a list narrows that to these model ids.
    allowed_models: Mapped[Optional[list]] = mapped_column(sa.JSON)
    # None: any client address; a list of addresses and CIDR networks the key works from.
    allowed_networks: Mapped[Optional[list]] = mapped_column(sa.JSON)
    # After a rotation with a grace period: the old secret's digest, which keeps finding
    # this row until previous_valid_until (both None when there is no previous secret).
    previous_digest: Mapped[Optional[str]] = mapped_column(sa.String(64), unique=True, index=True)
    previous_valid_until: Mapped[Optional[int]] = mapped_column(sa.BigInteger)
    # Set when the guard first finds the key dormant; cleared when its owner re-enables it.
    disabled_at: Mapped[Optional[int]] = mapped_column(sa.BigInteger)
    disabled_reason: Mapped[Optional[str]] = mapped_column(sa.String(32))
    # The key's own quotas (lower than its owner's), per quota_period ("day" or "month").
    token_quota: Mapped[Optional[int]] = mapped_column(sa.BigInteger)
    request_quota: Mapped[Optional[int]] = mapped_column(sa.BigInteger)
    quota_period: Mapped[Optional[str]] = mapped_column(sa.String(8))

    user: Mapped[User] = relationship()

    def is_expired(self, at: Optional[int] = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (at or now())

    def previous_secret_until(self, at: Optional[int] = None) -> Optional[int]:
        """When the previous secret stops working; None when there is none that works."""
        if self.previous_digest is None or self.previous_valid_until is None:
            return None
        return self.previous_valid_until if self.previous_valid_until > (at or now()) else None

    def is_disabled(self) -> bool:
        """Disabled by the guard (dormant) until its owner re-enables it. A key past the
        policy's limit is disabled when it is next presented."""
        return self.disabled_at is not None

    def to_dict(self) -> dict[str, Any]:
        """The fields clients may see; never the secret or its digest."""
        return {
            "id": self.id,
            "name": self.name,
            "prefix": self.prefix,
            "last_chars": self.last_chars,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "last_used_at": self.last_used_at,
            "last_used_ip": self.last_used_ip,
            "allowed_endpoints": self.allowed_endpoints,
            "read_only": self.read_only,
            "rate_limit_per_minute": self.rate_limit_per_minute,
            "allowed_models": self.allowed_models,
            "allowed_networks": self.allowed_networks,
            "previous_valid_until": self.previous_secret_until(),
            "token_quota": self.token_quota,
            "request_quota": self.request_quota,
            "quota_period": self.quota_period,
            "expired": self.is_expired(),
            "disabled_at": self.disabled_at,
            "disabled_reason": self.disabled_reason,
        }
