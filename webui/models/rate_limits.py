"""Rate-limit counters every worker and host shares through the database."""

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from webui.extensions import db


class RateLimitCounter(db.Model):
    """One fixed window of one counter: it began with its first event and ends at
    ``expires_at``; the next event after that starts a new window on the same row."""

    __tablename__ = "rate_limit_counters"

    name: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    count: Mapped[int] = mapped_column(sa.Integer)
    expires_at: Mapped[int] = mapped_column(sa.BigInteger, index=True)
