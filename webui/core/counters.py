"""Fixed-window counters in the app's database, shared by every worker and every host.

Each counter is one row. Counting is one statement, an upsert that starts a new window
when the old one has expired and returns the count, so concurrent workers never lose or
double a count. It runs on its own pooled connection in autocommit mode: it never joins
(or commits) the request's session, and it never waits for the request's transaction.
A window begins with its first event (as in the ``limits`` package), and rows of ended
windows are deleted at most once a minute per process.
"""

import threading
import time
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from webui.extensions import db
from webui.models import RateLimitCounter

SUPPORTED_DATABASES = ("sqlite", "postgresql")
CLEANUP_INTERVAL = 60.0  # seconds between two deletions of ended windows, per process

_INSERTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}
_counters = RateLimitCounter.__table__
_cleanup_lock = threading.Lock()
_next_cleanup = time.monotonic() + CLEANUP_INTERVAL


def clock() -> float:
    """The time windows are kept by; tests replace it so a window ends only when they say."""
    return time.time()


def _connection() -> sa.Connection:
    return db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")


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
