"""People: sign-up, sign-in, roles and deletion, the rules pages and the JSON API share.

Functions raise ``ServiceError`` with a status and a sentence; callers turn it into a
flash message or a JSON ``{"detail": …}``. Nothing is committed when a rule refuses.
"""

import functools
import secrets
from dataclasses import dataclass
from typing import Any, Optional

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from werkzeug.security import generate_password_hash

from webui.core import audit
from webui.core.settings import get_setting
from webui.errors import ServiceError
from webui.extensions import db
from webui.models import ROLES, User, new_id
from webui.models.accounts import normalize_email
from webui.security import ratelimit
from webui.security.display_names import refuse_hidden_characters
from webui.services import files, sessions

MIN_PASSWORD_LENGTH = 8
EMAIL_TAKEN = "An account with this email already exists."
SIGNUP_RECEIVED = (
    "Thank you. If this address had no account here, one was created and waits for an "
    "administrator's approval: sign in with it to see when it is approved. If the address "
    "already had an account, nothing was changed: sign in with that account's password."
)


SERVICE_ACCOUNT_SIGNIN = "Service accounts cannot sign in; use its API keys."


class ServiceAccountSignIn(ServiceError):
    """403: a service account has no password; only its API keys act for it."""

    def __init__(self):
        super().__init__(403, SERVICE_ACCOUNT_SIGNIN)


class EmailTaken(ServiceError):
    """400: the address has an account already (sign-ups that need approval never say so)."""

    def __init__(self):
        super().__init__(400, EMAIL_TAKEN)


def find_user_by_email(email: str) -> Optional[User]:
    return db.session.scalar(sa.select(User).where(User.email == normalize_email(email)))


def clean_email(email: Any) -> str:
    """A real address (name@domain.tld, checked by email-validator without any network
    lookup), trimmed and lower-cased as accounts compare them."""
    if not isinstance(email, str) or len(email.strip()) > 254:
        raise ServiceError(400, "Email must be a valid email address.")
    try:
        checked = validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError as error:
        raise ServiceError(400, f"Email must be a valid email address: {error}") from None
    return normalize_email(checked.normalized)


def validate_new_account(name: Any, email: Any, password: Any) -> tuple[str, str, str]:
    """The fields of a new account, checked and cleaned; whether the address is free is
    ``create_user``'s to check."""
    if not isinstance(name, str) or not name.strip():
        raise ServiceError(400, "Name is required.")
    name = name.strip()
    if len(name) > 100:
        raise ServiceError(400, "Name must be at most 100 characters.")
    refuse_hidden_characters(name, "Name")
    email = clean_email(email)
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise ServiceError(400, f"Password must be at least {MIN_PASSWORD_LENGTH} characters.")
    return name, email, password


def new_account_role() -> str:
    """The first account ever is admin; later ones get DEFAULT_USER_ROLE."""
    has_users = db.session.scalar(sa.select(sa.func.count()).select_from(User)) > 0
    return get_setting("DEFAULT_USER_ROLE") if has_users else "admin"


def create_user(
    name: Any, email: Any, password: Any, role: Optional[str] = None, record=None
) -> User:
    """Create an account; the first one ever is admin, later ones get the default role.
    ``record(user)``, when given, adds the audit event that is committed with the account.
    An address that has an account already: ``EmailTaken`` (400)."""
    name, email, password = validate_new_account(name, email, password)
    if find_user_by_email(email) is not None:
        raise EmailTaken()
    user = User(name=name, email=email, role=new_account_role() if role is None else role)
    user.set_password(password)
    db.session.add(user)
    if record is not None:
        record(user)
    try:
        db.session.commit()
    except sa.exc.IntegrityError:
        # Another request took the email between the check and the commit.
        db.session.rollback()
        raise EmailTaken() from None
    return user


def signups_open() -> bool:
    """Whether anyone may sign up: the first account always, later ones if ENABLE_SIGNUP."""
    if get_setting("ENABLE_SIGNUP"):
        return True
    return not db.session.scalar(sa.select(sa.func.count()).select_from(User))


@dataclass(frozen=True)
class SignUp:
    """What a sign-up answers. ``account``: the new account, to sign in at once; None when
    sign-ups wait for approval, whether or not the address was new (the answer must not
    tell, so the caller is not told either). ``id``: the new account's, or, for an address
    that had one, a fresh id of no account (the answer keeps Open WebUI's user shape)."""

    id: str
    name: str
    email: str
    account: Optional[User]


def sign_up(name: Any, email: Any, password: Any) -> SignUp:
    """``admit_sign_up``, then ``create_signed_up``."""
    admit_sign_up()
    return create_signed_up(name, email, password)


def admit_sign_up() -> None:
    """Every attempt counts toward the client address's sign-up limit, a malformed one too;
    over it, ``ratelimit.TooManyAttempts`` (429); 403 while sign-up is closed."""
    ratelimit.refuse_signup_if_blocked()
    if not signups_open():
        raise ServiceError(403, "Sign-up is disabled; ask an administrator to create your account.")
    ratelimit.count_signup()


def create_signed_up(name: Any, email: Any, password: Any) -> SignUp:
    """The account of an admitted sign-up. Where new accounts are pending, an address that
    has an account gets the same answer as a new one, and nothing is created for it."""
    role = new_account_role()
    if role != "pending":
        account = create_user(name, email, password, role, record=audit.signed_up)
        return SignUp(account.id, account.name, account.email, account)
    name, email, password = validate_new_account(name, email, password)
    try:
        account_id = create_user(name, email, password, role, record=audit.signed_up).id
    except EmailTaken:
        generate_password_hash(password)  # the work of the account not made: the same cost
        account_id = new_id()
    return SignUp(account_id, name, email, None)


def add_user(name: Any, email: Any, password: Any, role: Any) -> User:
    """An administrator creates an account (sign-up need not be open); the same rules as
    signing up, any role."""
    if role not in ROLES:
        raise ServiceError(400, f"Unknown role {role!r}: use one of {', '.join(ROLES)}.")
    return create_user(name, email, password, role=role, record=audit.user_created)


def approve(user: User) -> User:
    """A pending account becomes a user; anything else is a 409 and changes nothing."""
    user_id, email, role = user.id, user.email, user.role
    if role == "pending":
        if _approve_if_still_pending(user):
            return user
        # Changed since ``user`` was read: say what it is now (or that it is gone).
        role = db.session.scalar(sa.select(User.role).where(User.id == user_id))
        if role is None:
            raise ServiceError(404, "User not found.")
    raise ServiceError(409, f"{email} is not pending approval (role: {role}).")


def _approve_if_still_pending(user: User) -> bool:
    """The role is checked by the UPDATE itself: an approval sent from a stale page, or a
    moment after another admin changed the role, can never demote anyone."""
    audit.role_changed(user, "user")
    approved = db.session.execute(
        sa.update(User)
        .where(User.id == user.id, User.role == "pending")
        .values(role="user")
        .execution_options(synchronize_session=False)
    )
    if approved.rowcount != 1:
        db.session.rollback()
        return False
    db.session.commit()
    return True


def count_pending() -> int:
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(User).where(User.role == "pending")
    )


def names_by_id(user_ids: set[str]) -> dict[str, str]:
    """Ids → names for the people a list mentions, one query; deleted ids are absent."""
    if not user_ids:
        return {}
    rows = db.session.execute(sa.select(User.id, User.name).where(User.id.in_(user_ids)))
    return dict(rows.all())


def authenticate(email: Any, password: Any) -> Optional[User]:
    """The user for these credentials, or None; audited, and refused with 429
    (``ratelimit.TooManyAttempts``) while the client's address is over the limit."""
    ratelimit.refuse_signin_if_blocked()
    account = find_user_by_email(email) if isinstance(email, str) else None
    if account is not None and account.is_service:
        audit.service_sign_in_refused(account)
        raise ServiceAccountSignIn()
    if password_matches(account, password):
        audit.signed_in(account)
        return account
    audit.sign_in_failed(account)
    ratelimit.count_failed_signin()
    return None


def password_matches(account: Optional[User], password: Any) -> bool:
    """The same answer, in the same time, for an unknown email as for a wrong password."""
    if not isinstance(password, str):
        return False
    if account is None:
        # Spend the same hashing time as a real check so timing does not reveal the email.
        User(password_hash=_dummy_hash()).check_password(password)
        return False
    return account.check_password(password)


def _unless_last_admin(statement, user: User) -> bool:
    """Run ``statement`` (an UPDATE or DELETE of ``user``'s row) only if another administrator
    remains: the check is part of the statement, so two admins demoting each other at once
    cannot both succeed. PostgreSQL also locks the admin rows first, so the second waits and
    then sees the first's change. Returns whether the row changed."""
    db.session.execute(sa.select(User.id).where(User.role == "admin").with_for_update())
    other = sa.orm.aliased(User)
    another_admin = sa.exists().where(other.role == "admin", other.id != user.id)
    result = db.session.execute(
        statement.where(
            User.id == user.id, sa.or_(User.role != "admin", another_admin)
        ).execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def rename(user_id: str, name: Any) -> None:
    user = get_user_or_404(user_id)
    user.name = clean_name(name)
    db.session.commit()


def change_password(user_id: str, current: str, new: str, this_session: str) -> bool:
    """Set a new password and sign the person out of every other browser; False (nothing
    changed) when ``current`` is wrong. ``this_session`` is the cookie value that stays.
    Wrong current passwords count like failed sign-ins, per address and per account: over
    the limit, ``ratelimit.TooManyAttempts`` (429) before the password is checked."""
    user = get_user_or_404(user_id)
    ratelimit.refuse_password_change_if_blocked(user.id)
    if not user.check_password(current):
        ratelimit.count_wrong_password(user.id)
        return False
    user.set_password(new)
    sessions.close_other_sessions(user.id, this_session)  # commits both
    return True


def change_role(user: User, role: Any) -> User:
    if role not in ROLES:
        raise ServiceError(400, f"Unknown role {role!r}: use one of {', '.join(ROLES)}.")
    if user.is_service and role != "user":
        raise ServiceError(400, "A service account's role is always user.")
    audit.role_changed(user, role)
    if role != "admin" and not _unless_last_admin(sa.update(User).values(role=role), user):
        db.session.rollback()
        raise ServiceError(409, "This is the last administrator; promote someone else first.")
    if role == "admin":
        user.role = role
    db.session.commit()
    return user


def delete_user(user: User, deleted_by: Optional[str] = None) -> None:
    """Delete an account and everything it owns, except its service accounts: those pass to
    ``deleted_by`` (the administrator deleting it), audited, and keep working; without one
    an owner of service accounts is refused (409)."""
    audit.user_deleted(user)
    reassign_service_accounts(user, deleted_by)
    uploads = files.stored_names_of(user)
    # The database cascades to keys, files, chunks, collections and sessions.
    if not _unless_last_admin(sa.delete(User), user):
        db.session.rollback()
        raise ServiceError(409, "This is the last administrator and cannot be deleted.")
    files.remove_stored(uploads)  # an outage rolls back: the user and their files stay
    db.session.commit()


def reassign_service_accounts(owner: User, new_owner_id: Optional[str]) -> None:
    """Give every service account ``owner`` answers for to ``new_owner_id``, before the
    owner's row goes (the reference has no ON DELETE action: nothing is orphaned silently)."""
    owned = list(db.session.scalars(sa.select(User).where(User.owner_id == owner.id)))
    if owned and new_owner_id in (None, owner.id):
        raise ServiceError(
            409,
            "This account owns service accounts; another administrator must delete it, "
            "so that they pass to someone.",
        )
    for account in owned:
        audit.service_owner_changed(account, new_owner_id, reason="owner deleted")
        account.owner_id = new_owner_id
    db.session.flush()


def get_user_or_404(user_id: str) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise ServiceError(404, "User not found.")
    return user


def all_users() -> list[User]:
    return list(db.session.scalars(sa.select(User).order_by(User.created_at, User.email)))


@functools.cache
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_hex(16))


# --- reading people, for the Open WebUI-shaped user routes ------------------------------------


def search_users(text: Any, skip: int = 0, limit: int = 50) -> tuple[list[User], int]:
    """People whose name or email contains ``text`` (case-insensitive), a page of them and
    how many match in all."""
    query = sa.select(User)
    if isinstance(text, str) and text.strip():
        needle = text.strip().lower()
        query = query.where(
            sa.or_(
                sa.func.lower(User.name).contains(needle, autoescape=True),
                User.email.contains(needle, autoescape=True),
            )
        )
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    page = db.session.scalars(query.order_by(User.created_at, User.email).offset(skip).limit(limit))
    return list(page), total


def clean_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ServiceError(400, "name is required.")
    if len(name.strip()) > 100:
        raise ServiceError(400, "name must be at most 100 characters.")
    refuse_hidden_characters(name.strip(), "name")
    return name.strip()


def check_new_password(password: Any) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise ServiceError(400, f"new_password must be at least {MIN_PASSWORD_LENGTH} characters.")
    return password
