"""Databases the tests make with ``create_all``, marked at the migrations' head as
``flask db upgrade`` leaves a real one, so /ready says what it says in production."""

from functools import cache

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from webui import MIGRATIONS_DIR
from webui.extensions import db


@cache
def migrations() -> ScriptDirectory:
    return ScriptDirectory(MIGRATIONS_DIR)


def stamp(revision: str = "head") -> None:
    """Record ``revision`` as the current app's database's schema version."""
    with db.engine.begin() as connection:
        MigrationContext.configure(connection).stamp(migrations(), revision)
