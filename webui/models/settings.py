"""The settings admins save, and the version token every save renews."""

from typing import Any, Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from webui.extensions import db
from webui.models.base import now


class SettingRow(db.Model):
    """A value an admin saved; it wins over the environment's initial value."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    value: Mapped[Any] = mapped_column(sa.JSON)
    updated_at: Mapped[int] = mapped_column(sa.BigInteger, default=now, onupdate=now)
    updated_by: Mapped[Optional[str]] = mapped_column(sa.String(36))
