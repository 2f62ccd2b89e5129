"""later review rounds: reassignment and reminders (issue 15 follow-up)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01

Both rounds' assignments remember the reminder window last claimed for them (`reminded_window`: the due date and
'before' or 'overdue-<n>'), so the reminder job decides "one reminder per assignment per window" with one
conditional UPDATE; a later round's assignments get the (status, due_at) index the first round's reminder query
already has.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reminded_window', sa.String(length=40), nullable=True))
    with op.batch_alter_table('stage_assignments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reminded_window', sa.String(length=40), nullable=True))
        batch_op.create_index('ix_stage_assignments_status_due_at', ['status', 'due_at'], unique=False)


def downgrade():
    with op.batch_alter_table('stage_assignments', schema=None) as batch_op:
        batch_op.drop_index('ix_stage_assignments_status_due_at')
        batch_op.drop_column('reminded_window')
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.drop_column('reminded_window')
