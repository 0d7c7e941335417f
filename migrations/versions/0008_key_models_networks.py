"""key models and networks

A key may be limited to some models and to some client networks (issue 27, items 1 and 2);
NULL keeps the present meaning, no limit.

Revision ID: 0008_key_models_networks
Revises: 0007_audit_ip_index
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_key_models_networks"
down_revision = "0007_audit_ip_index"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("allowed_models", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("allowed_networks", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("allowed_networks")
        batch_op.drop_column("allowed_models")
