"""outbox: delivery leases and a retry budget in time

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

import fellowship.models  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_attempt_at', fellowship.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('lease_until', fellowship.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('dispatched_at', fellowship.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('failed_at', fellowship.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_outbox_messages_status_failed_at', ['status', 'failed_at'], unique=False)
    # Messages that failed before this change: their last change is when they failed.
    op.execute("UPDATE outbox_messages SET failed_at = updated_at WHERE status = 'failed'")


def downgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_messages_status_failed_at')
        batch_op.drop_column('failed_at')
        batch_op.drop_column('dispatched_at')
        batch_op.drop_column('lease_until')
        batch_op.drop_column('first_attempt_at')
