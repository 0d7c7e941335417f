"""Whether the database holds the schema this code's migrations end at (their head).

A server started before ``flask db upgrade`` would otherwise say it is ready while every page
fails. The answer is read once per process when it is good, and again at most every
RECHECK_SECONDS while it is not, so an upgrade is noticed without a restart and a ready server
never reads it again. Nothing here runs on a request that succeeds: /ready and /health/db ask,
and so does the handler of a database error, which then answers "being upgraded" (503) instead
of a bare 500. The log says once which command to run.
"""

import logging
import time
from dataclasses import dataclass
from functools import cache

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask, current_app, g, request
from sqlalchemy.exc import DBAPIError

from webui.config import unreachable_database
from webui.errors import is_api_path, json_error, unexpected_error
from webui.extensions import db

log = logging.getLogger(__name__)

UPGRADE_COMMAND = "flask --app webui db upgrade"
RECHECK_SECONDS = 3.0
EXTENSION = "webui.schema"
UPGRADING = "The server is being upgraded; try again in a few minutes."
NO_ANSWER = "The database does not answer."
clock = time.monotonic  # tests move time with their own


@dataclass(frozen=True)
class SchemaState:
    ready: bool
    reason: str = ""  # why not, for the operator (the public probes show it too)
    needs_upgrade: bool = False  # the fix is UPGRADE_COMMAND


@dataclass
class SchemaWatch:
    """One app's last answer and when it was read."""

    state: SchemaState | None = None
    read_at: float = 0.0
    logged: str = ""  # the last reason written to the log, so each is written once


@cache
def migration_history(directory: str) -> tuple[str, frozenset[str]]:
    """The head revision of the migrations in ``directory``, and every revision they hold."""
    script = ScriptDirectory(directory)
    return script.get_current_head(), frozenset(rev.revision for rev in script.walk_revisions())


def upgrade_needed(problem: str) -> SchemaState:
    return SchemaState(
        False,
        f"{problem}: run `{UPGRADE_COMMAND}` with the same DATABASE_URL as this server, which "
        "notices the upgrade within seconds, without a restart.",
        needs_upgrade=True,
    )


def read_schema_state(engine, directory: str) -> SchemaState:
    """Compare the database's Alembic revision with the head (one connection, two reads)."""
    head, known = migration_history(directory)
    with engine.connect() as connection:
        revisions = MigrationContext.configure(connection).get_current_heads()
    if not revisions:
        return upgrade_needed("The database has not been upgraded yet (it records no migration)")
    if head in revisions:
        return SchemaState(True)
    if set(revisions) <= known:
        return upgrade_needed(
            f"The database schema is at revision {', '.join(revisions)}, behind this "
            f"version's {head}"
        )
    # A newer release migrated it (a rolling upgrade): its migrations keep old code working.
    return SchemaState(
        True,
        f"The database is at revision {', '.join(revisions)}, which this version's migrations "
        "do not know: a newer release has upgraded it. Serving anyway.",
    )


def schema_state() -> SchemaState:
    """The current app's answer: remembered for good once ready, read again after
    RECHECK_SECONDS while not."""
    app = current_app._get_current_object()
    watch: SchemaWatch = app.extensions[EXTENSION]
    state, moment = watch.state, clock()
    if state is not None and (state.ready or moment - watch.read_at < RECHECK_SECONDS):
        return state
    try:
        state = read_schema_state(db.engine, app.extensions["migrate"].directory)
    except DBAPIError as error:
        note(watch, str(unreachable_database(db.engine.url, error)), logging.ERROR)
        state = SchemaState(False, NO_ANSWER)
    else:
        if state.reason:
            note(watch, state.reason, logging.WARNING if state.ready else logging.ERROR)
        elif watch.logged:
            log.info("The database schema is at this version's head now: serving.")
            watch.logged = ""
    watch.state, watch.read_at = state, moment
    return state


def note(watch: SchemaWatch, reason: str, level: int) -> None:
    """Log a reason once, not at every look."""
    if reason != watch.logged:
        log.log(level, reason)
        watch.logged = reason


def check_database_at_start(app: Flask) -> None:
    """At a server's start: stop with a sentence when the database refuses the connection;
    when its schema is behind, log the command to run (the server starts and waits)."""
    with app.app_context():
        try:
            with db.engine.connect():
                pass
        except DBAPIError as error:
            raise unreachable_database(db.engine.url, error) from None
        schema_state()


def database_error(error: DBAPIError):
    """A database error while the schema is behind is the upgrade not yet run: say so, with
    the command for an admin, instead of a bare 500 (whose page would fail the same way)."""
    db.session.rollback()  # PostgreSQL refuses every later statement of a failed transaction
    state = schema_state()
    if not state.needs_upgrade:
        return unexpected_error(error)
    viewer = g.get("principal")
    detail = state.reason if viewer is not None and viewer.is_admin else UPGRADING
    if is_api_path(request.path):
        return json_error(503, detail)
    # Not render_template: its context processors, like base.html's menu, read the database.
    page = current_app.jinja_env.get_template("errors/upgrading.html").render(message=detail)
    return page, 503


def init_schema_watch(app: Flask) -> None:
    app.extensions[EXTENSION] = SchemaWatch()
    app.register_error_handler(DBAPIError, database_error)
