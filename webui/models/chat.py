"""Who may use which model, and what each chat completion cost."""

from typing import Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from webui.extensions import db
from webui.models.base import now


class ModelAccess(db.Model):
    """An admin's access rule for one model id; a model without a row is public."""

    __tablename__ = "model_access"

    model_id: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    public: Mapped[bool] = mapped_column(default=True)
    # Ids of the groups whose members may use a restricted model (admins always may).
    group_ids: Mapped[list] = mapped_column(sa.JSON, default=list)
    updated_at: Mapped[int] = mapped_column(sa.BigInteger, default=now, onupdate=now)
    updated_by: Mapped[Optional[str]] = mapped_column(sa.String(36))


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
