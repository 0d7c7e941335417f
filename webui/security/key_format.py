"""The API key format: pure functions, no database.

A key is ``sk-webui_`` + 32 random base62 characters (190 bits from
``secrets``) + a 6-character base62 CRC32 of those 32, so a mistyped or
made-up key is refused before any database query. Only the SHA-256 digest
of the whole key is stored. Secret scanners can match ``KEY_REGEX``.
"""

import hashlib
import re
import secrets
import string
import zlib

KEY_PREFIX = "sk-webui_"
ALPHABET = string.digits + string.ascii_letters
BODY_LENGTH = 32
CHECKSUM_LENGTH = 6
KEY_LENGTH = len(KEY_PREFIX) + BODY_LENGTH + CHECKSUM_LENGTH
# Word boundaries: a scanner must not find a key inside a longer token.
KEY_REGEX = r"\bsk-webui_[0-9A-Za-z]{38}\b"
_KEY_PATTERN = re.compile(KEY_REGEX)
VISIBLE_PREFIX_LENGTH = len(KEY_PREFIX) + 4


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, remainder = divmod(number, 62)
        digits.append(ALPHABET[remainder])
    return "".join(reversed(digits))


def checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode("ascii")), CHECKSUM_LENGTH)


def generate_key() -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(BODY_LENGTH))
    return KEY_PREFIX + body + checksum(body)


def is_well_formed(token: str) -> bool:
    """True when the token has the key format and its checksum matches."""
    if len(token) != KEY_LENGTH or not _KEY_PATTERN.fullmatch(token):
        return False
    body = token[len(KEY_PREFIX) : len(KEY_PREFIX) + BODY_LENGTH]
    return secrets.compare_digest(checksum(body), token[-CHECKSUM_LENGTH:])


def key_digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def visible_prefix(token: str) -> str:
    """The non-secret start shown in lists, e.g. ``sk-webui_AbC1``."""
    return token[:VISIBLE_PREFIX_LENGTH]


def visible_suffix(token: str) -> str:
    return token[-4:]


def bearer_token(authorization: str | None) -> str | None:
    """The credential of a Bearer Authorization header; None when it is not Bearer.

    Returns "" for a Bearer header whose credential is empty or malformed
    (several words, whitespace), which the guard refuses like an unknown key.
    """
    if authorization is None:
        return None
    scheme, _, credential = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    credential = credential.strip()
    if not credential or len(credential.split(maxsplit=1)) > 1:
        return ""
    return credential
