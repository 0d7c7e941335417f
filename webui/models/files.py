"""Uploaded files, their text chunks, and knowledge collections that group them."""

from typing import Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webui.extensions import db
from webui.models.accounts import Group
from webui.models.base import new_id, now

knowledge_files = sa.Table(
    "knowledge_files",
    db.metadata,
    sa.Column(
        "knowledge_id",
        sa.String(36),
        sa.ForeignKey("knowledge.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "file_id", sa.String(36), sa.ForeignKey("files.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("added_at", sa.BigInteger, nullable=False, default=now),
    sa.Index("ix_knowledge_files_file_id", "file_id"),
)

# The groups a collection is shared with (read access); none means private.
# A table rather than a JSON list so that deleting a group ends its access.
knowledge_groups = sa.Table(
    "knowledge_groups",
    db.metadata,
    sa.Column(
        "knowledge_id",
        sa.String(36),
        sa.ForeignKey("knowledge.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "group_id", sa.String(36), sa.ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Index("ix_knowledge_groups_group_id", "group_id"),
)


class File(db.Model):
    """An upload: bytes in the file storage (core/storage.py), everything else here."""

    __tablename__ = "files"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(
        sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(sa.String(255))
    content_type: Mapped[str] = mapped_column(sa.String(255))
    size: Mapped[int] = mapped_column(sa.BigInteger)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    # The stored name (in UPLOAD_DIR or the bucket), made from the id, never the client's name.
    path: Mapped[str] = mapped_column(sa.String(255))
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")
    error: Mapped[Optional[str]] = mapped_column(sa.Text)
    created_at: Mapped[int] = mapped_column(sa.BigInteger, default=now)
    updated_at: Mapped[int] = mapped_column(sa.BigInteger, default=now, onupdate=now)

    chunks: Mapped[list["FileChunk"]] = relationship(
        back_populates="file",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="FileChunk.chunk_index",
    )

    def __repr__(self) -> str:
        return f"<File {self.id} {self.status}>"


class FileChunk(db.Model):
    """One overlapping piece of a file's text, the unit retrieval ranks."""

    __tablename__ = "file_chunks"
    __table_args__ = (
        sa.UniqueConstraint("file_id", "chunk_index", name="uq_file_chunks_file_index"),
    )

    # An integer key because SQLite's FTS5 index refers to rows by integer rowid.
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    file_id: Mapped[str] = mapped_column(
        sa.String(36), sa.ForeignKey("files.id", ondelete="CASCADE"), index=True
    )
    chunk_index: Mapped[int] = mapped_column(sa.Integer)
    text: Mapped[str] = mapped_column(sa.Text)

    file: Mapped[File] = relationship(back_populates="chunks")


class Knowledge(db.Model):
    """A named collection of files; private, or readable by chosen groups."""

    __tablename__ = "knowledge"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(
        sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(100))
    description: Mapped[str] = mapped_column(sa.String(1000), default="")
    created_at: Mapped[int] = mapped_column(sa.BigInteger, default=now)
    updated_at: Mapped[int] = mapped_column(sa.BigInteger, default=now, onupdate=now)

    files: Mapped[list[File]] = relationship(
        secondary=knowledge_files, passive_deletes=True, order_by=File.filename
    )
    groups: Mapped[list[Group]] = relationship(
        secondary=knowledge_groups, passive_deletes=True, order_by=Group.name
    )

    def __repr__(self) -> str:
        return f"<Knowledge {self.id} {self.name!r}>"
