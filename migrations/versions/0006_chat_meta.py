"""chat meta (tags)

Open WebUI keeps a chat's tags in its ``meta`` object; so does webui.

Revision ID: 0006_chat_meta
Revises: 0005_chats
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_chat_meta"
down_revision = "0005_chats"
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD COLUMN: rebuilding the table on SQLite would drop its full-text triggers.
    # The server default fills the rows saved before.
    op.add_column(
        "chats", sa.Column("meta", sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
    )


def downgrade():
    op.drop_column("chats", "meta")
