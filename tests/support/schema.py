"""Databases the tests make with ``create_all``, marked at the migrations' head as
``flask db upgrade`` leaves a real one, so /ready says what it says in production."""

from functools import cache

import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from webui import MIGRATIONS_DIR
from webui.extensions import db


@cache
def migrations() -> ScriptDirectory:
    return ScriptDirectory(MIGRATIONS_DIR)


def stamp(revision: str = "head") -> None:
    """Record ``revision`` as the current app's database's schema version, whatever an
    earlier test left there (on a shared PostgreSQL database, perhaps a version no script
    knows, which Alembic's stamp would refuse to move from)."""
    with db.engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
        MigrationContext.configure(connection).stamp(migrations(), revision)
