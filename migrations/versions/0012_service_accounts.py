"""service accounts

A service account is a users row marked ``is_service``, with the person who answers for it
in ``owner_id``. The owner's deletion reassigns it first (no ON DELETE action).

Revision ID: 0012_service_accounts
Revises: 0011_key_dormancy
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_service_accounts"
down_revision = "0011_key_dormancy"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("is_service", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("owner_id", sa.String(length=36), nullable=True))
        batch_op.create_index("ix_users_owner_id", ["owner_id"], unique=False)
        batch_op.create_foreign_key("fk_users_owner_id", "users", ["owner_id"], ["id"])


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint("fk_users_owner_id", type_="foreignkey")
        batch_op.drop_index("ix_users_owner_id")
        batch_op.drop_column("owner_id")
        batch_op.drop_column("is_service")
