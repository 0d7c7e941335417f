"""Who may use which model: an admin's rule per model id."""

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
