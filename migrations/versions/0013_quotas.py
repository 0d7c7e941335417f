"""token and request quotas

Quotas of tokens and requests per day or per month (issue 27, item 3): set by an
administrator on groups and users, and by an owner (lower) on a key. NULL: no quota.

Revision ID: 0013_quotas
Revises: 0012_service_accounts
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_quotas"
down_revision = "0012_service_accounts"
branch_labels = None
depends_on = None

COLUMNS = ("token_quota", "request_quota", "quota_period")
WARNED = ("users", "groups")  # the tables that also hold a warning threshold


def quota_columns(table: str) -> list[sa.Column]:
    columns = [
        sa.Column("token_quota", sa.BigInteger(), nullable=True),
        sa.Column("request_quota", sa.BigInteger(), nullable=True),
        sa.Column("quota_period", sa.String(length=8), nullable=True),
    ]
    if table in WARNED:
        columns.append(sa.Column("quota_warn_percent", sa.Integer(), nullable=True))
    return columns


def upgrade():
    for table in ("api_keys", "users", "groups"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in quota_columns(table):
                batch_op.add_column(column)


def downgrade():
    for table in ("api_keys", "users", "groups"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in reversed(quota_columns(table)):
                batch_op.drop_column(column.name)
