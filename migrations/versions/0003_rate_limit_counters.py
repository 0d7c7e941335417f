"""rate limit counters

The default rate-limit storage: one row per counter (a client address's failed
authentications, a key's requests), so every worker and every host that shares the
database counts against one limit (see webui/core/counters.py).

Revision ID: 0003_rate_limit_counters
Revises: 3b1f0c2a9d47
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_rate_limit_counters"
down_revision = "3b1f0c2a9d47"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "rate_limit_counters",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    with op.batch_alter_table("rate_limit_counters", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_rate_limit_counters_expires_at"), ["expires_at"], unique=False
        )


def downgrade():
    with op.batch_alter_table("rate_limit_counters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rate_limit_counters_expires_at"))
    op.drop_table("rate_limit_counters")
