"""People and the groups they belong to."""

from typing import Optional

import sqlalchemy as sa
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


def normalize_email(email: str) -> str:
    """Emails are compared trimmed and case-insensitively."""
    return email.strip().lower()


class HasQuota:
    """Token and request quotas an administrator sets on a person or a group: NULL for none,
    counted per ``quota_period`` ("day" or "month", UTC), with a warning from
    ``quota_warn_percent`` (NULL: the default) of a quota used."""

    token_quota: Mapped[Optional[int]] = mapped_column(sa.BigInteger)
    request_quota: Mapped[Optional[int]] = mapped_column(sa.BigInteger)
    quota_period: Mapped[Optional[str]] = mapped_column(sa.String(8))
    quota_warn_percent: Mapped[Optional[int]] = mapped_column(sa.Integer)


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


class User(HasRole, HasQuota, db.Model):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(sa.String(100))
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(256))
    role: Mapped[str] = mapped_column(sa.String(16), default="pending")
    created_at: Mapped[int] = mapped_column(sa.BigInteger, default=now)
    # Keys revoked because someone reported them leaked, as [{"name", "prefix"}]: the
    # banner of the owner's next page lists them until the owner dismisses it.
    leaked_keys_notice: Mapped[Optional[list]] = mapped_column(sa.JSON)
    # A service account: no password and no browser sign-in, it acts only through the API
    # keys administrators mint for it; ``owner_id`` names the person answerable for it.
    is_service: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    owner_id: Mapped[Optional[str]] = mapped_column(
        sa.String(36), sa.ForeignKey("users.id", name="fk_users_owner_id"), index=True
    )

    groups: Mapped[list["Group"]] = relationship(
        secondary=group_members, back_populates="members", passive_deletes=True
    )

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"


class Group(HasQuota, db.Model):
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


class BrowserSession(db.Model):
    """A signed-in browser. The cookie holds a random token; only its digest is stored, and
    deleting the row ends that browser's session for good, whatever copies of the cookie exist."""

    __tablename__ = "browser_sessions"

    digest: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(
        sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[int] = mapped_column(sa.BigInteger, default=now)
