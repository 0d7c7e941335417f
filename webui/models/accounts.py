"""People and the groups they belong to."""

import hashlib
import hmac

import sqlalchemy as sa
from flask import current_app
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from webui.extensions import db
from webui.models.base import new_id, now

ROLES = ("admin", "user", "pending")

group_members = sa.Table(
    "group_members",
    db.metadata,
    sa.Column(
        "group_id", sa.String(36), sa.ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column(
        "user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Index("ix_group_members_user_id", "user_id"),
)


def session_stamp(password_hash: str) -> str:
    """Changes whenever the password does: a session signed in before then is ended.
    Keyed with SECRET_KEY, so the cookie (readable, though signed) reveals nothing."""
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, password_hash.encode(), hashlib.sha256).hexdigest()[:16]


def normalize_email(email: str) -> str:
    """Emails are compared trimmed and case-insensitively."""
    return email.strip().lower()


class HasRole:
    """What a role means, for an account row and for a request's principal alike."""

    __slots__ = ()
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_pending(self) -> bool:
        """Waiting for approval (or any role that is not admin or user): may do nothing."""
        return self.role not in ("admin", "user")


class User(HasRole, UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(sa.String(100))
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(256))
    role: Mapped[str] = mapped_column(sa.String(16), default="pending")
    created_at: Mapped[int] = mapped_column(sa.BigInteger, default=now)

    groups: Mapped[list["Group"]] = relationship(
        secondary=group_members, back_populates="members", passive_deletes=True
    )

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def get_id(self) -> str:
        """What Flask-Login keeps in the session cookie: the id and the session stamp."""
        return f"{self.id}.{session_stamp(self.password_hash)}"

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"


class Group(db.Model):
    __tablename__ = "groups"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    description: Mapped[str] = mapped_column(sa.String(500), default="")
    # Flat {"features.api_keys": true, …}; an entry left out grants nothing.
    permissions: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[int] = mapped_column(sa.BigInteger, default=now)

    members: Mapped[list[User]] = relationship(
        secondary=group_members,
        back_populates="groups",
        passive_deletes=True,
        order_by=User.email,
    )
