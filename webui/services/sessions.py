"""Browser sessions: each sign-in opens one, signing out closes it for good.

The session cookie (signed, but readable) holds ``<user id>.<random token>``; the database
holds only the token's digest. Closing a session deletes its row, so a copied cookie stops
working at once, in every worker. A password change closes every other session of the person.
"""

import secrets
from typing import Optional

import sqlalchemy as sa

from webui.extensions import db
from webui.models import BrowserSession, User
from webui.security.identity import split_cookie_value, token_digest


def open_session(user: User) -> str:
    """Record a new signed-in browser; returns what its cookie holds."""
    token = secrets.token_urlsafe(32)
    db.session.add(BrowserSession(digest=token_digest(token), user_id=user.id))
    db.session.commit()
    return f"{user.id}.{token}"


def close_session(value: Optional[str]) -> None:
    _, token = split_cookie_value(value or "")
    if token:
        db.session.execute(
            sa.delete(BrowserSession).where(BrowserSession.digest == token_digest(token))
        )
        db.session.commit()


def close_other_sessions(user_id: str, keep_value: Optional[str]) -> None:
    """Sign the person out of every browser but the one whose cookie holds ``keep_value``."""
    _, token = split_cookie_value(keep_value or "")
    others = sa.delete(BrowserSession).where(BrowserSession.user_id == user_id)
    if token:
        others = others.where(BrowserSession.digest != token_digest(token))
    db.session.execute(others)
    db.session.commit()  # with whatever the caller changed (a new password)
