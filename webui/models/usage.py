"""What each chat completion cost, for the account page and the admin's totals."""

from typing import Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from webui.extensions import db
from webui.models.base import now


class Usage(db.Model):
    """One chat completion: who, through which key (None: the browser), which model, the outcome."""

    __tablename__ = "usage"
    __table_args__ = (sa.Index("ix_usage_api_key_id_created_at", "api_key_id", "created_at"),)

    # A sequence, not a uuid: it orders rows written within the same second.
    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    user_id: Mapped[str] = mapped_column(
        sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    # No foreign key: the history of a deleted key stays attributed to it, not to the browser.
    api_key_id: Mapped[Optional[str]] = mapped_column(sa.String(36))
    endpoint: Mapped[str] = mapped_column(sa.String(100))
    model: Mapped[str] = mapped_column(sa.String(255))
    status: Mapped[int] = mapped_column(sa.Integer)
    stream: Mapped[bool] = mapped_column(default=False)
    prompt_tokens: Mapped[Optional[int]] = mapped_column(sa.Integer)
    completion_tokens: Mapped[Optional[int]] = mapped_column(sa.Integer)
    total_tokens: Mapped[Optional[int]] = mapped_column(sa.Integer)
    created_at: Mapped[int] = mapped_column(sa.BigInteger, default=now)
