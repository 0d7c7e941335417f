"""Who is asking: one SQL statement per request builds the ``Principal``.

For a Bearer key the statement brings the key, its owner, the owner's groups and the
settings version in one row; for a browser it brings the same for the open session its
cookie names. Every scripted call pays for this, so it skips what the ORM and Core add per
execution (session, execution context, result objects): each statement is compiled once per
engine and runs on a pooled DB-API connection, its row decoded with the same per-column
result processors SQLAlchemy would use.
"""

import functools
import hashlib
import json
import weakref
from collections.abc import Callable
from typing import Optional

import sqlalchemy as sa

from webui.core.version_cache import version_column
from webui.extensions import db
from webui.models import ApiKey, BrowserSession, Group, User, group_members
from webui.security import quotas
from webui.security.key_format import key_digest
from webui.security.principal import KeyInfo, Principal, frozen_groups

_USER_COLUMNS = (User.id, User.name, User.email, User.role, User.is_service)
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
    ApiKey.allowed_models,
    ApiKey.allowed_networks,
    # When the bound secret is the key's previous one: its grace end (0 if none is stored,
    # which the guard refuses as past); NULL for the key's current secret.
    sa.case(
        (ApiKey.digest == sa.bindparam("value"), None),
        else_=sa.func.coalesce(ApiKey.previous_valid_until, 0),
    ),
    ApiKey.created_at,  # with last_used_at: whether the key is dormant
    ApiKey.disabled_at,
    ApiKey.token_quota,
    ApiKey.request_quota,
    ApiKey.quota_period,
)
# The key columns holding JSON lists: shared decoded values, kept as read-only tuples.
_LIST_COLUMNS = tuple(
    _KEY_COLUMNS.index(column)
    for column in (ApiKey.allowed_endpoints, ApiKey.allowed_models, ApiKey.allowed_networks)
)


def _groups_json(dialect: str) -> sa.ScalarSelect:
    """The person's groups as one JSON array of [id, grants] pairs (NULL or [] for none)."""
    if dialect == "postgresql":
        groups = sa.func.json_agg(sa.func.json_build_array(Group.id, Group.permissions))
    else:  # SQLite's JSON functions; json() embeds the stored grants as JSON, not as a string
        groups = sa.func.json_group_array(
            sa.func.json_array(Group.id, sa.func.json(Group.permissions))
        )
    return (
        sa.select(groups)
        .select_from(group_members.join(Group, Group.id == group_members.c.group_id))
        .where(group_members.c.user_id == User.id)
        .scalar_subquery()
    )


def _lookup(dialect: str, through, match, *columns) -> sa.Select:
    """``columns``, the person's groups and the settings version for the row of ``through``
    (a key or a browser session) that ``match`` finds: one row however many groups the
    person is in, because every further row of SQLite's cursor gives up the GIL once more,
    and under load each time hands the worker to another thread."""
    return (
        sa.select(*columns, _groups_json(dialect), version_column())
        .select_from(User)
        .join(through, through.user_id == User.id)
        .where(match)
    )


def by_key(dialect: str) -> sa.Select:
    """The key whose secret, or previous secret (during a rotation's grace period), is bound.
    Each digest column has its own unique index; the key's id is found through one, then the
    other, rather than by an OR of both, which made SQLite's lookup cost twice the request."""
    value = sa.bindparam("value")
    current = sa.select(ApiKey.id).where(ApiKey.digest == value)
    previous = sa.select(ApiKey.id).where(ApiKey.previous_digest == value)
    match = ApiKey.id == sa.union_all(current, previous).limit(1).scalar_subquery()
    quota = quotas.lookup_column(dialect, with_key=True)
    return _lookup(dialect, ApiKey, match, *_KEY_COLUMNS, *_USER_COLUMNS, quota)


def by_session(dialect: str) -> sa.Select:
    match = BrowserSession.digest == sa.bindparam("value")
    quota = quotas.lookup_column(dialect, with_key=False)
    return _lookup(dialect, BrowserSession, match, *_USER_COLUMNS, quota)


class _Compiled:
    """A lookup for one engine's dialect: its SQL, parameter order and column decoders."""

    def __init__(self, build: Callable[[str], sa.Select], engine: sa.Engine):
        dialect = engine.dialect
        statement = build(dialect.name)
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        self.params = compiled.construct_params({"value": ""})
        self.order = compiled.positiontup if compiled.positional else None
        # Most columns arrive as they are (strings, numbers): only the few that need it are
        # decoded (the endpoint list, booleans, the groups' JSON from SQLite).
        decoders = [
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in statement.selected_columns
        ]
        decoders[-2] = json.loads  # the groups: text from SQLite, already a list from psycopg
        self.decoders = [(i, _remembering(decode)) for i, decode in enumerate(decoders) if decode]

    def parameters(self, value: str):
        params = {**self.params, "value": value, **quotas.lookup_params(quotas.clock())}
        return tuple(params[name] for name in self.order) if self.order else params

    def decode(self, row: tuple) -> list:
        row = list(row)
        for i, decode in self.decoders:
            row[i] = decode(row[i])
        return row


def _remembering(decode: Callable) -> Callable:
    """``decode``, run once per distinct text: the same grants and endpoint lists come back
    request after request, and parsing their JSON each time was a tenth of a key lookup.
    What it returns is shared, so ``_principal`` copies it into read-only values; what is
    not text (a list psycopg decoded, a number) goes to ``decode`` when it needs decoding."""
    decode_text = functools.lru_cache(maxsize=1024)(decode)

    def decode_value(value):
        if isinstance(value, str):
            return decode_text(value)
        return value if isinstance(value, list) or value is None else decode(value)

    return decode_value


# Per (lookup, engine); weak, so apps made and dropped (tests) take theirs with them.
_compiled: dict[Callable, "weakref.WeakKeyDictionary[sa.Engine, _Compiled]"] = {
    by_key: weakref.WeakKeyDictionary(),
    by_session: weakref.WeakKeyDictionary(),
}


def _row(build: Callable[[str], sa.Select], value: str) -> Optional[list]:
    """The lookup's one row for ``value``, decoded; None when nothing matches."""
    engine = db.engine
    per_engine = _compiled[build]
    compiled = per_engine.get(engine)
    if compiled is None:
        compiled = per_engine[engine] = _Compiled(build, engine)
    connection = engine.raw_connection()  # pooled; returned (and rolled back) on close
    try:
        cursor = connection.cursor()
        try:
            cursor.execute(compiled.sql, compiled.parameters(value))
            row = cursor.fetchone()
        finally:
            cursor.close()
    finally:
        connection.close()
    return None if row is None else compiled.decode(row)


def _principal(row: list, user_start: int, key: Optional[KeyInfo]) -> Principal:
    """A row of [key columns…, user columns…, quotas, groups, version] as a Principal."""
    user_end = user_start + len(_USER_COLUMNS)
    user_id, name, email, role, is_service = row[user_start:user_end]
    quota = row[user_end]
    key_quota = None if key is None else (key.token_quota, key.request_quota, key.quota_period)
    return Principal(
        id=user_id,
        name=name,
        email=email,
        role=role,
        is_service=bool(is_service),
        groups=frozen_groups(row[-2] or ()),
        key=key,
        settings_version=row[-1],
        quotas=quotas.quotas_from_lookup(quota, key_quota),
    )


def principal_for_key(token: str) -> Optional[Principal]:
    """The owner of the key whose digest matches, with the key; None for an unknown key."""
    row = _row(by_key, key_digest(token))
    if row is None:
        return None
    values = row[: len(_KEY_COLUMNS)]
    for i in _LIST_COLUMNS:
        if values[i] is not None:
            values[i] = tuple(values[i])
    return _principal(row, len(_KEY_COLUMNS), KeyInfo(*values))


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def split_cookie_value(value: str) -> tuple[str, str]:
    """(user id, session token) from what the session cookie holds; ("", "") otherwise."""
    user_id, dot, token = value.partition(".")
    return (user_id, token) if dot and user_id and token else ("", "")


def principal_for_session(value: str) -> Optional[Principal]:
    """The person whose open browser session the cookie names; None once it was closed."""
    user_id, token = split_cookie_value(value)
    row = _row(by_session, token_digest(token)) if token else None
    if row is None or row[0] != user_id:
        return None
    return _principal(row, 0, None)
