"""Accounts and groups: the rules pages and the JSON API both follow.

Functions raise ``ServiceError`` with a status and a sentence; callers turn it
into a flash message or a JSON ``{"detail": …}``. Nothing is committed when a
rule refuses.
"""

import functools
import secrets
from typing import Any, Optional

import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from webui import settings
from webui.errors import ServiceError
from webui.extensions import db
from webui.models import Group, User
from webui.models.accounts import ROLES, normalize_email
from webui.security import ratelimit
from webui.security.permissions import flatten
from webui.services import audit, files

MIN_PASSWORD_LENGTH = 8


# --- users ----------------------------------------------------------------------


def find_user_by_email(email: str) -> Optional[User]:
    return db.session.scalar(sa.select(User).where(User.email == normalize_email(email)))


def validate_new_account(name: Any, email: Any, password: Any) -> tuple[str, str, str]:
    if not isinstance(name, str) or not name.strip():
        raise ServiceError(400, "Name is required.")
    if len(name.strip()) > 100:
        raise ServiceError(400, "Name must be at most 100 characters.")
    if not isinstance(email, str) or "@" not in email.strip() or len(email.strip()) > 254:
        raise ServiceError(400, "Email must be a valid email address.")
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise ServiceError(400, f"Password must be at least {MIN_PASSWORD_LENGTH} characters.")
    if find_user_by_email(email) is not None:
        raise ServiceError(400, "An account with this email already exists.")
    return name.strip(), normalize_email(email), password


def create_user(name: Any, email: Any, password: Any, role: Optional[str] = None) -> User:
    """Create an account; the first one ever is admin, later ones get the default role."""
    name, email, password = validate_new_account(name, email, password)
    if role is None:
        has_users = db.session.scalar(sa.select(sa.func.count()).select_from(User)) > 0
        role = settings.get_setting("DEFAULT_USER_ROLE") if has_users else "admin"
    user = User(name=name, email=email, role=role)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    return user


def sign_up(name: Any, email: Any, password: Any) -> User:
    has_users = db.session.scalar(sa.select(sa.func.count()).select_from(User)) > 0
    if has_users and not settings.get_setting("ENABLE_SIGNUP"):
        raise ServiceError(403, "Sign-up is disabled; ask an administrator to create your account.")
    return create_user(name, email, password)


def authenticate(email: Any, password: Any) -> Optional[User]:
    """The user for these credentials, or None; audited, and refused with 429
    (``ratelimit.TooManyAttempts``) while the client's address is over the limit."""
    ratelimit.refuse_signin_if_blocked()
    user = check_credentials(email, password)
    audit.sign_in(email, user)
    if user is None:
        ratelimit.count_failed_signin()
    return user


def check_credentials(email: Any, password: Any) -> Optional[User]:
    """The user for these credentials, or None; the same answer for unknown emails."""
    if not isinstance(email, str) or not isinstance(password, str):
        return None
    user = find_user_by_email(email)
    if user is None:
        # Spend the same hashing time as a real check so timing does not reveal the email.
        User(password_hash=_dummy_hash()).check_password(password)
        return None
    return user if user.check_password(password) else None


def _admin_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).where(User.role == "admin"))


def change_role(user: User, role: Any) -> User:
    if role not in ROLES:
        raise ServiceError(400, f"Unknown role {role!r}: use one of {', '.join(ROLES)}.")
    if user.role == "admin" and role != "admin" and _admin_count() <= 1:
        raise ServiceError(409, "This is the last administrator; promote someone else first.")
    audit.role_changed(user, role)
    user.role = role
    db.session.commit()
    return user


def delete_user(user: User) -> None:
    if user.role == "admin" and _admin_count() <= 1:
        raise ServiceError(409, "This is the last administrator and cannot be deleted.")
    audit.user_deleted(user)
    uploads = files.stored_paths_of(user)
    db.session.delete(user)  # the database cascades to keys, files, chunks and collections
    db.session.commit()
    for path in uploads:
        files.remove_quietly(path)


def get_user_or_404(user_id: str) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise ServiceError(404, "User not found.")
    return user


# --- groups --------------------------------------------------------------------------


def get_group_or_404(group_id: str) -> Group:
    group = db.session.get(Group, group_id)
    if group is None:
        raise ServiceError(404, "Group not found.")
    return group


def _clean_group_name(name: Any, group: Optional[Group]) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ServiceError(400, "Group name is required.")
    name = name.strip()
    if len(name) > 100:
        raise ServiceError(400, "Group name must be at most 100 characters.")
    clash = db.session.scalar(sa.select(Group).where(sa.func.lower(Group.name) == name.lower()))
    if clash is not None and clash is not group:
        raise ServiceError(400, f"A group named {name!r} already exists.")
    return name


def _clean_description(description: Any) -> str:
    if description is None:
        return ""
    if not isinstance(description, str) or len(description) > 500:
        raise ServiceError(400, "Description must be text of at most 500 characters.")
    return description.strip()


def _clean_permissions(nested: Any) -> dict[str, bool]:
    try:
        return {name: True for name, granted in flatten(nested).items() if granted}
    except ValueError as error:
        raise ServiceError(400, str(error).capitalize() + ".") from None


def _members(user_ids: Any) -> list[User]:
    if not isinstance(user_ids, list) or not all(isinstance(i, str) for i in user_ids):
        raise ServiceError(400, "user_ids must be a list of user ids.")
    users = list(db.session.scalars(sa.select(User).where(User.id.in_(set(user_ids)))))
    missing = set(user_ids) - {u.id for u in users}
    if missing:
        raise ServiceError(404, f"Unknown user id: {sorted(missing)[0]}.")
    return users


def create_group(name: Any, description: Any = None, permissions: Any = None) -> Group:
    group = Group(
        name=_clean_group_name(name, None),
        description=_clean_description(description),
        permissions=_clean_permissions(permissions or {}),
    )
    db.session.add(group)
    audit.group_created(group)
    db.session.commit()
    return group


def update_group(group: Group, changes: dict[str, Any]) -> Group:
    """Apply any of name, description, permissions, user_ids; validated before anything changes."""
    values: dict[str, Any] = {}
    if "name" in changes:
        values["name"] = _clean_group_name(changes["name"], group)
    if "description" in changes:
        values["description"] = _clean_description(changes["description"])
    if "permissions" in changes:
        values["permissions"] = _clean_permissions(changes["permissions"])
    if "user_ids" in changes:
        values["members"] = _members(changes["user_ids"])
    audit.group_updated(group, values)
    for attribute, value in values.items():
        setattr(group, attribute, value)
    db.session.commit()
    return group


def delete_group(group: Group) -> None:
    audit.group_deleted(group)
    db.session.delete(group)
    db.session.commit()


def all_groups() -> list[Group]:
    return list(db.session.scalars(sa.select(Group).order_by(Group.name)))


def all_users() -> list[User]:
    return list(db.session.scalars(sa.select(User).order_by(User.created_at, User.email)))


@functools.cache
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_hex(16))
