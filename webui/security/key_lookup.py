"""The guard's one statement for a Bearer key: the key, its owner, the owner's groups and
the settings version, run straight on a pooled DB-API connection.

Every scripted call pays for this, so it skips what the ORM and Core add per execution
(session, execution context, result objects): the statement is compiled once per engine,
and its rows are decoded with the same per-column result processors SQLAlchemy would use.
The key and the owner become detached, fully loaded instances, so views read ``g.user``
and ``g.api_key`` as they read any loaded row; no session is opened to decide a request.
"""

import weakref
from dataclasses import dataclass
from typing import Any, Optional

import sqlalchemy as sa
from sqlalchemy.orm import make_transient_to_detached

from webui import settings
from webui.extensions import db
from webui.models import ApiKey, Group, User, group_members
from webui.security import keys

_KEY_FIELDS = [attr.key for attr in sa.inspect(ApiKey).column_attrs]
_USER_FIELDS = [attr.key for attr in sa.inspect(User).column_attrs]
_USER_START = len(_KEY_FIELDS)
_GROUP_START = _USER_START + len(_USER_FIELDS)

KEY_LOOKUP = (
    sa.select(
        *(getattr(ApiKey, name) for name in _KEY_FIELDS),
        *(getattr(User, name) for name in _USER_FIELDS),
        Group.id,
        Group.permissions,
        settings.version_column(),
    )
    .join(User, User.id == ApiKey.user_id)
    .outerjoin(group_members, group_members.c.user_id == User.id)
    .outerjoin(Group, Group.id == group_members.c.group_id)
    .where(ApiKey.digest == sa.bindparam("digest"))
)


@dataclass
class KeyLookup:
    api_key: ApiKey  # detached and fully loaded
    user: User
    groups: list[tuple[str, dict]]  # (id, grants) of the owner's groups
    settings_version: Any


class _Compiled:
    """KEY_LOOKUP for one engine's dialect: its SQL, parameter order and row decoders."""

    def __init__(self, engine: sa.Engine):
        dialect = engine.dialect
        compiled = KEY_LOOKUP.compile(dialect=dialect)
        self.sql = str(compiled)
        self.params = compiled.construct_params({"digest": ""})
        self.order = compiled.positiontup if compiled.positional else None
        self.decoders = [
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in KEY_LOOKUP.selected_columns
        ]

    def parameters(self, digest: str):
        params = {**self.params, "digest": digest}
        return tuple(params[name] for name in self.order) if self.order else params

    def decode(self, row: tuple, start: int = 0, stop: Optional[int] = None) -> list:
        """Python values of the row's columns start:stop."""
        return [
            value if decode is None else decode(value)
            for decode, value in zip(self.decoders[start:stop], row[start:stop], strict=True)
        ]


# Per engine (one per app); weak, so apps made and dropped (tests) take theirs with them.
_compiled: "weakref.WeakKeyDictionary[sa.Engine, _Compiled]" = weakref.WeakKeyDictionary()


def _compiled_for(engine: sa.Engine) -> _Compiled:
    compiled = _compiled.get(engine)
    if compiled is None:
        compiled = _compiled[engine] = _Compiled(engine)
    return compiled


def _run(compiled: _Compiled, engine: sa.Engine, digest: str) -> list[tuple]:
    connection = engine.raw_connection()  # pooled; returned (and rolled back) on close
    try:
        cursor = connection.cursor()
        try:
            cursor.execute(compiled.sql, compiled.parameters(digest))
            rows = cursor.fetchall()
        finally:
            cursor.close()
    finally:
        connection.close()
    return rows


def _detached(model, fields: list[str], values: list) -> Any:
    """A row as a detached, fully loaded instance, populated the way the ORM populates one
    (the instance dict directly: the mapped constructor's attribute events cost more than
    the query)."""
    record = sa.orm.class_mapper(model).class_manager.new_instance()
    record.__dict__.update(zip(fields, values, strict=True))
    make_transient_to_detached(record)
    return record


def find_key(token: str) -> Optional[KeyLookup]:
    """The key whose digest matches, with its owner, groups and the settings version."""
    engine = db.engine
    compiled = _compiled_for(engine)
    rows = _run(compiled, engine, keys.key_digest(token))
    if not rows:
        return None
    first = compiled.decode(rows[0])  # one row per group; the key and owner repeat
    groups = [compiled.decode(row, _GROUP_START, _GROUP_START + 2) for row in rows]
    return KeyLookup(
        api_key=_detached(ApiKey, _KEY_FIELDS, first[:_USER_START]),
        user=_detached(User, _USER_FIELDS, first[_USER_START:_GROUP_START]),
        groups=[(group_id, grants or {}) for group_id, grants in groups if group_id is not None],
        settings_version=first[-1],
    )
