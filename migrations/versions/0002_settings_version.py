"""settings version row

Every settings save rewrites this row in its own transaction, and workers keep what they
read under its value (see webui/settings.py). Creating it here means two first-ever saves
at the same moment update one row instead of racing to insert it.

Revision ID: 3b1f0c2a9d47
Revises: 662077764121
"""

import time
import uuid

import sqlalchemy as sa
from alembic import op

revision = "3b1f0c2a9d47"
down_revision = "662077764121"
branch_labels = None
depends_on = None

settings = sa.table(
    "settings",
    sa.column("key", sa.String),
    sa.column("value", sa.JSON),
    sa.column("updated_at", sa.BigInteger),
)


def upgrade():
    present = (
        op.get_bind().execute(sa.select(settings.c.key).where(settings.c.key == "_version")).first()
    )
    if present is None:
        row = {"key": "_version", "value": str(uuid.uuid4()), "updated_at": int(time.time())}
        op.bulk_insert(settings, [row])


def downgrade():
    op.execute(settings.delete().where(settings.c.key == "_version"))
