"""audit ip index

The audit page's IP filter (each address links to it) reads one page through this index
however large the table, as the other filters and the keyset pages do through theirs.

Revision ID: 0007_audit_ip_index
Revises: 0006_chat_meta
"""

from alembic import op

revision = "0007_audit_ip_index"
down_revision = "0006_chat_meta"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_events_ip"), ["ip"], unique=False)


def downgrade():
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_events_ip"))
