"""Count the SQL statements the database really receives, for tests and the benchmark.

Counting happens at the DB-API level, under SQLAlchemy, so statements the guard runs on a
raw pooled connection count as much as ORM queries. SQLite reports every statement it
executes through its trace callback; psycopg cursors are swapped for counting ones while
a connection is checked out of the pool.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa


def _trace_sqlite(dbapi_connection, seen: list[str]) -> None:
    def record(statement: str) -> None:
        # SQLite reports a statement again for each trigger program it runs: count it once.
        if not seen or seen[-1] != statement:
            seen.append(statement)

    dbapi_connection.set_trace_callback(record)


def _trace_psycopg(dbapi_connection, seen: list[str]) -> None:
    base = dbapi_connection.__dict__.setdefault(
        "_untraced_cursor_factory", dbapi_connection.cursor_factory
    )

    class CountingCursor(base):
        def execute(self, query, *args, **kwargs):
            seen.append(str(query))
            return super().execute(query, *args, **kwargs)

        def executemany(self, query, *args, **kwargs):
            seen.append(str(query))
            return super().executemany(query, *args, **kwargs)

    dbapi_connection.cursor_factory = CountingCursor


def _untrace(dbapi_connection) -> None:
    if hasattr(dbapi_connection, "set_trace_callback"):
        dbapi_connection.set_trace_callback(None)
    elif "_untraced_cursor_factory" in dbapi_connection.__dict__:
        dbapi_connection.cursor_factory = dbapi_connection.__dict__["_untraced_cursor_factory"]


@contextmanager
def traced_statements(engine: sa.Engine) -> Iterator[list[str]]:
    """Yields a list that collects every statement run on connections checked out of the
    engine's pool while the block runs."""
    seen: list[str] = []
    trace = _trace_sqlite if engine.dialect.name == "sqlite" else _trace_psycopg

    def on_checkout(dbapi_connection, _record, _proxy) -> None:
        trace(dbapi_connection, seen)

    def on_checkin(dbapi_connection, _record) -> None:
        _untrace(dbapi_connection)

    sa.event.listen(engine, "checkout", on_checkout)
    sa.event.listen(engine, "checkin", on_checkin)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "checkout", on_checkout)
        sa.event.remove(engine, "checkin", on_checkin)
