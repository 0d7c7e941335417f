"""Who is asking: one SQL statement per request builds the ``Principal``.

For a Bearer key the statement brings the key, its owner, the owner's groups and the
settings version; for a browser it brings the same for the open session its cookie names. Every
scripted call pays for this, so it skips what the ORM and Core add per execution (session,
execution context, result objects): each statement is compiled once per engine and runs
on a pooled DB-API connection, its rows decoded with the same per-column result
processors SQLAlchemy would use.
"""

import functools
import hashlib
import weakref
from collections.abc import Callable
from typing import Optional

import sqlalchemy as sa

from webui.core.version_cache import version_column
from webui.extensions import db
from webui.models import ApiKey, BrowserSession, Group, User, group_members
from webui.security.key_format import key_digest
from webui.security.principal import KeyInfo, Principal, frozen_groups

_USER_COLUMNS = (User.id, User.name, User.email, User.role)
_KEY_COLUMNS = (
    ApiKey.id,
    ApiKey.user_id,
    ApiKey.name,
    ApiKey.prefix,
    ApiKey.expires_at,
    ApiKey.last_used_at,
    ApiKey.last_used_ip,
    ApiKey.allowed_endpoints,
    ApiKey.read_only,
    ApiKey.rate_limit_per_minute,
)


def _with_groups(*columns) -> sa.Select:
    """``columns`` of the user, one row per group they belong to, and the settings version."""
    return (
        sa.select(*columns, Group.id, Group.permissions, version_column())
        .select_from(User)
        .outerjoin(group_members, group_members.c.user_id == User.id)
        .outerjoin(Group, Group.id == group_members.c.group_id)
    )


BY_KEY = (
    _with_groups(*_KEY_COLUMNS, *_USER_COLUMNS)
    .join(ApiKey, ApiKey.user_id == User.id)
    .where(ApiKey.digest == sa.bindparam("value"))
)
BY_SESSION = (
    _with_groups(*_USER_COLUMNS)
    .join(BrowserSession, BrowserSession.user_id == User.id)
    .where(BrowserSession.digest == sa.bindparam("value"))
)


class _Compiled:
    """A statement for one engine's dialect: its SQL, parameter order and row decoders."""

    def __init__(self, statement: sa.Select, engine: sa.Engine):
        dialect = engine.dialect
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        self.params = compiled.construct_params({"value": ""})
        self.order = compiled.positiontup if compiled.positional else None
        decoders = [
            _remembering(column.type.dialect_impl(dialect).result_processor(dialect, None))
            for column in statement.selected_columns
        ]
        # Most columns arrive as they are (strings, numbers): only the few that need it are
        # decoded (JSON, booleans). Every row repeats the person's and key's columns; only
        # the last three (group id, grants, version) differ, so later rows decode just those.
        self.first_row = [(i, decode) for i, decode in enumerate(decoders) if decode]
        group_start = len(decoders) - 3
        self.later_rows = [(i, decode) for i, decode in self.first_row if i >= group_start]

    def parameters(self, value: str):
        params = {**self.params, "value": value}
        return tuple(params[name] for name in self.order) if self.order else params

    def decode(self, rows: list[tuple]) -> list[list]:
        decoded = []
        for number, row in enumerate(rows):
            row = list(row)
            for i, decode in self.later_rows if number else self.first_row:
                row[i] = decode(row[i])
            decoded.append(row)
        return decoded


def _remembering(decode: Optional[Callable]) -> Optional[Callable]:
    """``decode``, run once per distinct text: the same grants and endpoint lists come back
    request after request, and parsing their JSON each time was a tenth of a key lookup.
    What it returns is shared, so ``_principal`` copies it into read-only values."""
    if decode is None:
        return None
    decode_text = functools.lru_cache(maxsize=1024)(decode)

    def decode_value(value):
        return decode_text(value) if isinstance(value, str) else decode(value)

    return decode_value


# Per (statement, engine); weak, so apps made and dropped (tests) take theirs with them.
_compiled: dict[int, "weakref.WeakKeyDictionary[sa.Engine, _Compiled]"] = {
    id(BY_KEY): weakref.WeakKeyDictionary(),
    id(BY_SESSION): weakref.WeakKeyDictionary(),
}


def _rows(statement: sa.Select, value: str) -> list[list]:
    engine = db.engine
    per_engine = _compiled[id(statement)]
    compiled = per_engine.get(engine)
    if compiled is None:
        compiled = per_engine[engine] = _Compiled(statement, engine)
    connection = engine.raw_connection()  # pooled; returned (and rolled back) on close
    try:
        cursor = connection.cursor()
        try:
            cursor.execute(compiled.sql, compiled.parameters(value))
            rows = cursor.fetchall()
        finally:
            cursor.close()
    finally:
        connection.close()
    return compiled.decode(rows)


def _principal(rows: list[list], user_start: int, key: Optional[KeyInfo]) -> Principal:
    """Rows of [key columns…, user columns…, group id, grants, version] as a Principal."""
    user_id, name, email, role = rows[0][user_start : user_start + 4]
    return Principal(
        id=user_id,
        name=name,
        email=email,
        role=role,
        groups=frozen_groups(row[-3:-1] for row in rows),
        key=key,
        settings_version=rows[0][-1],
    )


def principal_for_key(token: str) -> Optional[Principal]:
    """The owner of the key whose digest matches, with the key; None for an unknown key."""
    rows = _rows(BY_KEY, key_digest(token))
    if not rows:
        return None
    values = rows[0][: len(_KEY_COLUMNS)]
    endpoints = values[7]
    values[7] = tuple(endpoints) if endpoints is not None else None
    return _principal(rows, len(_KEY_COLUMNS), KeyInfo(*values))


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def split_cookie_value(value: str) -> tuple[str, str]:
    """(user id, session token) from what the session cookie holds; ("", "") otherwise."""
    user_id, dot, token = value.partition(".")
    return (user_id, token) if dot and user_id and token else ("", "")


def principal_for_session(value: str) -> Optional[Principal]:
    """The person whose open browser session the cookie names; None once it was closed."""
    user_id, token = split_cookie_value(value)
    rows = _rows(BY_SESSION, token_digest(token)) if token else []
    if not rows or rows[0][0] != user_id:
        return None
    return _principal(rows, 0, None)
