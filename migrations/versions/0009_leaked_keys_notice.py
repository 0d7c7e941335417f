"""leaked keys notice

Keys revoked by a leak report are listed on their owner's next page until dismissed: the
list lives on the owner's row.

Revision ID: 0009_leaked_keys_notice
Revises: 0008_key_models_networks
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_leaked_keys_notice"
down_revision = "0008_key_models_networks"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("leaked_keys_notice", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("leaked_keys_notice")
