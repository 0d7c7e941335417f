"""Signing a browser in and out: a fresh session each time, closed for good on the way out.

Pages and the JSON sign-in share it. Starting from an empty session drops anything planted
in the cookie before sign-in (a CSRF token, say); Flask-Login then keeps only the value that
names the open session (``services/sessions.py``).
"""

from dataclasses import dataclass

from flask import session
from flask_login import login_user, logout_user

from webui.models import User
from webui.services import sessions

_COOKIE_KEY = "_user_id"  # where Flask-Login keeps get_id()


@dataclass(frozen=True)
class _OpenSession:
    """What Flask-Login asks of the object it signs in."""

    value: str
    is_active: bool = True
    is_authenticated: bool = True
    is_anonymous: bool = False

    def get_id(self) -> str:
        return self.value


def sign_in(user: User) -> None:
    sessions.close_session(session.get(_COOKIE_KEY))  # this browser's previous session, if any
    session.clear()
    login_user(_OpenSession(sessions.open_session(user)))


def sign_out() -> None:
    sessions.close_session(session.get(_COOKIE_KEY))
    logout_user()
    session.clear()


def this_session() -> str:
    """What this browser's cookie holds: the value that names its open session."""
    return session.get(_COOKIE_KEY, "")
