"""rotation grace

A rotation may keep the old secret working for a while (issue 27, item 4): its digest and
the end of its grace period live on the key's row, so the one lookup by digest finds it.

Revision ID: 0010_rotation_grace
Revises: 0009_leaked_keys_notice
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_rotation_grace"
down_revision = "0009_leaked_keys_notice"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("previous_digest", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("previous_valid_until", sa.BigInteger(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_api_keys_previous_digest"), ["previous_digest"], unique=True
        )


def downgrade():
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_keys_previous_digest"))
        batch_op.drop_column("previous_valid_until")
        batch_op.drop_column("previous_digest")
