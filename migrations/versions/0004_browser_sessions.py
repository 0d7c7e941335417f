"""browser sessions

One row per signed-in browser (only a digest of its cookie token), so signing out ends that
session for good in every worker. Cookies from before this revision name no row: their
browsers sign in again once.

Revision ID: 7c2e5d1a0b93
Revises: 0003_rate_limit_counters
"""

import sqlalchemy as sa
from alembic import op

revision = "7c2e5d1a0b93"
down_revision = "0003_rate_limit_counters"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "browser_sessions",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("digest"),
    )
    with op.batch_alter_table("browser_sessions") as batch_op:
        batch_op.create_index("ix_browser_sessions_user_id", ["user_id"], unique=False)


def downgrade():
    with op.batch_alter_table("browser_sessions") as batch_op:
        batch_op.drop_index("ix_browser_sessions_user_id")
    op.drop_table("browser_sessions")
