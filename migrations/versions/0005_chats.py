"""saved chats

One row per conversation, in Open WebUI's chat layout, with the text its full-text index
reads (an FTS5 table on SQLite, a GIN index on PostgreSQL, as for file chunks).

Revision ID: 0005_chats
Revises: 7c2e5d1a0b93
"""

import sqlalchemy as sa
from alembic import op

from webui.services import fulltext

revision = "0005_chats"
down_revision = "7c2e5d1a0b93"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "chats",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("chat", sa.JSON(), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("pinned", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("touched_ns", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("chats") as batch_op:
        batch_op.create_index("ix_chats_user_id_touched_ns", ["user_id", "touched_ns"])
    for statement in fulltext.create_chat_index_sql(op.get_bind().dialect.name):
        op.execute(statement)


def downgrade():
    for statement in fulltext.drop_chat_index_sql(op.get_bind().dialect.name):
        op.execute(statement)
    with op.batch_alter_table("chats") as batch_op:
        batch_op.drop_index("ix_chats_user_id_touched_ns")
    op.drop_table("chats")
