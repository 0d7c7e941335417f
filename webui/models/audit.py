"""The audit trail: an append-only table of security-relevant events."""

from typing import Any, Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from webui.extensions import db
from webui.models.base import now

# A sequence, not a random id: an append-only log is read in insertion order, and events of
# the same second must still list newest first. SQLite autoincrements only an INTEGER key.
SEQUENCE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class AuditEvent(db.Model):
    __tablename__ = "audit_events"
    __table_args__ = (sa.Index("ix_audit_events_fingerprint_ts", "fingerprint", "ts"),)

    id: Mapped[int] = mapped_column(SEQUENCE, primary_key=True, autoincrement=True)
    ts: Mapped[int] = mapped_column(sa.BigInteger, default=now, index=True)
    action: Mapped[str] = mapped_column(sa.String(64), index=True)
    # No foreign keys: the history of a deleted user or key stays readable.
    actor_id: Mapped[Optional[str]] = mapped_column(sa.String(36), index=True)
    target: Mapped[Optional[str]] = mapped_column(sa.String(255), index=True)
    ip: Mapped[Optional[str]] = mapped_column(sa.String(64), index=True)  # the IP filter
    route: Mapped[Optional[str]] = mapped_column(sa.String(255))
    detail: Mapped[Optional[dict]] = mapped_column(sa.JSON)
    # Throttled events (denied key use, failed sign-ins) count repeats on one row.
    count: Mapped[int] = mapped_column(sa.Integer, default=1)
    # SHA-256 of what makes repeats "the same" (action, reason, key or account); None otherwise.
    fingerprint: Mapped[Optional[str]] = mapped_column(sa.String(64))

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "ts": self.ts,
            "action": self.action,
            "actor_id": self.actor_id,
            "target": self.target,
            "ip": self.ip,
            "route": self.route,
            "detail": self.detail,
            "count": self.count,
        }
