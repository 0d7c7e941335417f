"""Personal API keys: only a digest of the secret is stored."""

from typing import Any, Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webui.extensions import db
from webui.models.accounts import User
from webui.models.base import new_id, now


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
    # The key's own quotas (lower than its owner's), per quota_period ("day" or "month").
    token_quota: Mapped[Optional[int]] = mapped_column(sa.BigInteger)
    request_quota: Mapped[Optional[int]] = mapped_column(sa.BigInteger)
    quota_period: Mapped[Optional[str]] = mapped_column(sa.String(8))

    user: Mapped[User] = relationship()

    def is_expired(self, at: Optional[int] = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (at or now())

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
            "token_quota": self.token_quota,
            "request_quota": self.request_quota,
            "quota_period": self.quota_period,
            "expired": self.is_expired(),
        }
