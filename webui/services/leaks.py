"""Leak response: anyone may report keys as leaked, and a key may revoke itself.

A report revokes every valid key it names and tells the owner (an audit row and a banner
on their next page), and its answer never says whether any key was found: the same status
and body whatever was sent. Strings that fail the key format's checksum are dropped
without a database query. Revoking deletes the key row, as an administrator's revoke
does, so every worker refuses the key from its next request (each looks keys up by
digest)."""

from typing import Any

import sqlalchemy as sa

from webui.core import audit
from webui.errors import ServiceError
from webui.extensions import db
from webui.models import ApiKey, User
from webui.security import key_format
from webui.security.principal import KeyInfo

MAX_REPORTED_KEYS = 100
REPORT_ANSWER = "Thank you. Any valid key among them has been revoked."
LEAK_REASON = "reported as leaked"
SELF_REASON = "revoked by itself"
BAD_REPORT = f'Send {{"keys": ["sk-webui_…", …]}}: a list of 1 to {MAX_REPORTED_KEYS} key strings.'


def reported_keys(body: dict[str, Any]) -> list[str]:
    """The key strings of a report; 400 unless ``keys`` is 1 to 100 strings."""
    keys = body.get("keys")
    if (
        set(body) != {"keys"}
        or not isinstance(keys, list)
        or not 1 <= len(keys) <= MAX_REPORTED_KEYS
        or not all(isinstance(key, str) for key in keys)
    ):
        raise ServiceError(400, BAD_REPORT)
    return keys


def revoke_leaked(tokens: list[str]) -> None:
    """Revoke every key among ``tokens`` that exists; checksum failures cost no query."""
    digests = {key_format.key_digest(token) for token in tokens if key_format.is_well_formed(token)}
    if not digests:
        return
    for api_key in db.session.scalars(sa.select(ApiKey).where(ApiKey.digest.in_(digests))):
        audit.key_deleted(api_key, action="key.revoked", reason=LEAK_REASON)
        add_to_notice(api_key)
        db.session.delete(api_key)
    db.session.commit()


def add_to_notice(api_key: ApiKey) -> None:
    """Name the key (never its secret) in its owner's banner of leaked keys."""
    owner = db.session.get(User, api_key.user_id)
    entry = {"name": api_key.name, "prefix": api_key.prefix}
    owner.leaked_keys_notice = [*(owner.leaked_keys_notice or []), entry]


def revoke_self(key: KeyInfo) -> None:
    """The key a request was made with deletes itself (audited as its owner's act)."""
    api_key = db.session.get(ApiKey, key.id)
    if api_key is not None:  # a parallel request may have revoked it already
        audit.key_deleted(api_key, reason=SELF_REASON)
        db.session.delete(api_key)
        db.session.commit()


def leaked_keys_notice(user_id: str) -> list[dict[str, str]]:
    """The owner's keys revoked by leak reports since the banner was last dismissed."""
    return db.session.scalar(sa.select(User.leaked_keys_notice).where(User.id == user_id)) or []


def dismiss_notice(user_id: str) -> None:
    db.session.execute(sa.update(User).where(User.id == user_id).values(leaked_keys_notice=None))
    db.session.commit()
