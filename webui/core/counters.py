"""Fixed-window counters in the app's database, shared by every worker and every host.

Each counter is one row. Counting is one statement, an upsert that starts a new window
when the old one has expired and returns the count, so concurrent workers never lose or
double a count. It runs on a connection of the counters' own small pool, in autocommit
mode: it never joins (or commits) the request's session, never waits for the request's
transaction, and never waits for a connection of the request pool.
A window begins with its first event (as in the ``limits`` package), and rows of ended
windows are deleted at most once a minute per process.
"""

import threading
import time
from typing import Optional

import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy.dialects import postgresql, sqlite

from webui.extensions import db, tune_sqlite
from webui.models import RateLimitCounter

SUPPORTED_DATABASES = ("sqlite", "postgresql")
CLEANUP_INTERVAL = 60.0  # seconds between two deletions of ended windows, per process

ENGINE = "webui.counters_engine"
POOL_SIZE, POOL_OVERFLOW = 1, 4  # per process: a count is one short statement
_INSERTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}
_counters = RateLimitCounter.__table__
_cleanup_lock = threading.Lock()
_next_cleanup = time.monotonic() + CLEANUP_INTERVAL


def clock() -> float:
    """The time windows are kept by; tests replace it so a window ends only when they say."""
    return time.time()


def _connection() -> sa.Connection:
    return engine().connect().execution_options(isolation_level="AUTOCOMMIT")


def engine() -> sa.Engine:
    """The counters' own small pool on the app's database. A request may count while its
    session holds a connection from the app's pool (a wrong password, a limited key); if
    counting needed a second one from that pool, a crowd of such requests (a gevent worker
    runs thousands at once) could take every connection and then wait for each other."""
    extensions = current_app.extensions
    if ENGINE not in extensions:
        extensions[ENGINE] = _counter_engine(db.engine)
    return extensions[ENGINE]


def _counter_engine(app_engine: sa.Engine) -> sa.Engine:
    if app_engine.url.database in (None, "", ":memory:"):
        return app_engine  # an in-memory database exists only on the app's own connections
    own = sa.create_engine(app_engine.url, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW)
    if own.dialect.name == "sqlite":
        sa.event.listen(own, "connect", tune_sqlite)
    return own


def dispose(app: Flask) -> None:
    """Close the counters' pooled connections (when an app is done with, as in tests)."""
    own = app.extensions.pop(ENGINE, None)
    if own is not None:
        own.dispose()


def hit(name: str, seconds: int) -> tuple[int, int]:
    """Count one event; the count in the current window (this one included) and the
    seconds until that window ends. A new window lasts ``seconds``."""
    at = int(clock())
    insert = _INSERTS[db.engine.dialect.name]
    current = _counters.c.expires_at > at
    upsert = (
        insert(_counters)
        .values(name=name, count=1, expires_at=at + seconds)
        .on_conflict_do_update(
            index_elements=[_counters.c.name],
            # Both right-hand sides read the row as it was before this statement.
            set_={
                "count": sa.case((current, _counters.c.count + 1), else_=1),
                "expires_at": sa.case((current, _counters.c.expires_at), else_=at + seconds),
            },
        )
        .returning(_counters.c.count, _counters.c.expires_at)
    )
    with _connection() as connection:
        count, expires_at = connection.execute(upsert).one()
        if _cleanup_due():
            delete_ended(connection, at)
    return count, max(1, expires_at - at)


def peek(name: str) -> tuple[int, int]:
    """The count in the current window and the seconds until it ends, without counting;
    (0, 0) when no window is running."""
    at = int(clock())
    query = sa.select(_counters.c.count, _counters.c.expires_at).where(
        _counters.c.name == name, _counters.c.expires_at > at
    )
    with _connection() as connection:
        row: Optional[sa.Row] = connection.execute(query).first()
    if row is None:
        return 0, 0
    return row.count, max(1, row.expires_at - at)


def delete_ended(connection: sa.Connection, at: int) -> None:
    """Delete the rows of windows that ended (the next event would start them afresh)."""
    connection.execute(sa.delete(_counters).where(_counters.c.expires_at <= at))


def _cleanup_due() -> bool:
    global _next_cleanup
    with _cleanup_lock:
        if time.monotonic() < _next_cleanup:
            return False
        _next_cleanup = time.monotonic() + CLEANUP_INTERVAL
        return True
