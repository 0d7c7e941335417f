"""The Alembic history: one head, and upgrading an empty database gives the models' schema."""

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import upgrade

from webui import MIGRATIONS_DIR, create_app
from webui.extensions import db
from webui.services import fulltext


def test_single_head():
    script = ScriptDirectory(MIGRATIONS_DIR)
    assert len(script.get_heads()) == 1


def test_upgrade_gives_the_models_schema(app_config, app):
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as connection:
            connection.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
    migrated = create_app(app_config)
    with migrated.app_context():
        upgrade(directory=MIGRATIONS_DIR)
        with db.engine.connect() as connection:
            differences = compare_metadata(
                MigrationContext.configure(
                    connection, opts={"include_name": fulltext.include_name}
                ),
                db.metadata,
            )
        assert differences == []
        with db.engine.begin() as connection:
            connection.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
