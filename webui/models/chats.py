"""Saved conversations, in Open WebUI's layout so that exports move between the two."""

import time

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from webui.extensions import db
from webui.models.base import new_id, now


class Chat(db.Model):
    """One person's conversation: the Open WebUI ``chat`` object as sent, and what search reads."""

    __tablename__ = "chats"
    __table_args__ = (sa.Index("ix_chats_user_id_touched_ns", "user_id", "touched_ns"),)

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(
        sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE")
    )
    title: Mapped[str] = mapped_column(sa.String(200))
    chat: Mapped[dict] = mapped_column(sa.JSON)
    # The title and every message's text, one string for the full-text index.
    search_text: Mapped[str] = mapped_column(sa.Text, default="")
    archived: Mapped[bool] = mapped_column(default=False)
    pinned: Mapped[bool] = mapped_column(default=False)
    # Open WebUI's ``meta``: here only ``tags``, the ids of the chat's tags.
    meta: Mapped[dict] = mapped_column(sa.JSON, default=dict, server_default=sa.text("'{}'"))
    created_at: Mapped[int] = mapped_column(sa.BigInteger, default=now)
    updated_at: Mapped[int] = mapped_column(sa.BigInteger, default=now)
    # Nanoseconds of the last change: orders chats changed within the same second.
    touched_ns: Mapped[int] = mapped_column(sa.BigInteger, default=time.time_ns)

    def __repr__(self) -> str:
        return f"<Chat {self.id} {self.title!r}>"
