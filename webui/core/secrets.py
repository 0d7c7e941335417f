"""Upstream API keys at rest: sealed with a key derived from SECRET_KEY, shown masked."""

import base64
import hashlib
import logging

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app

log = logging.getLogger(__name__)

SEALED_PREFIX = "sealed:"


def _fernet() -> Fernet:
    secret = current_app.config["SECRET_KEY"]
    secret = secret.encode() if isinstance(secret, str) else secret
    digest = hashlib.sha256(b"webui upstream api keys\x00" + secret).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def seal(plain: str) -> str:
    """Encrypt an upstream key for the database (needs the app for SECRET_KEY)."""
    if not plain or plain.startswith(SEALED_PREFIX):
        return plain
    return SEALED_PREFIX + _fernet().encrypt(plain.encode()).decode()


def unseal(stored: str) -> str:
    """The plain key; a value from the environment was never sealed."""
    if not stored.startswith(SEALED_PREFIX):
        return stored
    try:
        return _fernet().decrypt(stored[len(SEALED_PREFIX) :].encode()).decode()
    except InvalidToken:
        # SECRET_KEY changed since the key was saved: the admin has to enter it again.
        log.warning("an upstream API key cannot be decrypted (SECRET_KEY changed?); using none")
        return ""


def mask_key(key: str) -> str:
    """What people see of an upstream key: enough to recognise it, never enough to use it."""
    if not key:
        return ""
    if len(key) <= 10:
        return "••••"
    return f"{key[:3]}…{key[-4:]}"
