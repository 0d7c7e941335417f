"""key dormancy

A key unused for longer than the administrator's limit is disabled when it is next
presented: when and why stay on the key's row until its owner re-enables it.

Revision ID: 0011_key_dormancy
Revises: 0010_rotation_grace
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_key_dormancy"
down_revision = "0010_rotation_grace"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("disabled_at", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("disabled_reason", sa.String(length=32), nullable=True))


def downgrade():
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("disabled_reason")
        batch_op.drop_column("disabled_at")
