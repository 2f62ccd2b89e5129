"""interview slots, bookings and scores (issue 15): slots of an interview stage with their panel, candidates'
bookings (one live booking per candidate and stage; a slot never holds more than its capacity) and interview scores

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30

"""
from alembic import op
import sqlalchemy as sa

import fellowship.models


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


TS = fellowship.models.UTCDateTime(timezone=True)


def upgrade():
    op.create_table('interview_slots',
    sa.Column('stage_id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', TS, nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('booked_count', sa.Integer(), nullable=False),
    sa.Column('mode', sa.Enum('video', 'phone', 'in_person', name='interview_mode', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('location', sa.String(length=500), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', TS, server_default=sa.func.now(), nullable=False),
    sa.Column('updated_at', TS, server_default=sa.func.now(), nullable=False),
    sa.CheckConstraint('capacity >= 1', name=op.f('ck_interview_slots_slot_capacity_positive')),
    sa.CheckConstraint('duration_minutes BETWEEN 5 AND 480', name=op.f('ck_interview_slots_slot_duration_range')),
    sa.CheckConstraint('booked_count BETWEEN 0 AND capacity', name=op.f('ck_interview_slots_slot_not_overbooked')),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_interview_slots_call_id_calls'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_interview_slots_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['stage_id'], ['selection_stages.id'], name=op.f('fk_interview_slots_stage_id_selection_stages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_interview_slots'))
    )
    with op.batch_alter_table('interview_slots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_interview_slots_call_id'), ['call_id'], unique=False)
        batch_op.create_index('ix_interview_slots_stage_starts', ['stage_id', 'starts_at'], unique=False)

    op.create_table('interview_slot_panel',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slot_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['slot_id'], ['interview_slots.id'], name=op.f('fk_interview_slot_panel_slot_id_interview_slots'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_interview_slot_panel_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_interview_slot_panel')),
    sa.UniqueConstraint('slot_id', 'user_id', name='uq_interview_slot_panel_slot_user')
    )
    with op.batch_alter_table('interview_slot_panel', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_interview_slot_panel_user_id'), ['user_id'], unique=False)

    op.create_table('interview_bookings',
    sa.Column('slot_id', sa.Integer(), nullable=False),
    sa.Column('stage_id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('booked', 'cancelled', 'no_show', name='booking_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('booked_by_id', sa.Integer(), nullable=True),
    sa.Column('reminder_due_at', TS, nullable=True),
    sa.Column('reminded_at', TS, nullable=True),
    sa.Column('cancelled_at', TS, nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', TS, server_default=sa.func.now(), nullable=False),
    sa.Column('updated_at', TS, server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], name=op.f('fk_interview_bookings_application_id_applications'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['booked_by_id'], ['users.id'], name=op.f('fk_interview_bookings_booked_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['slot_id'], ['interview_slots.id'], name=op.f('fk_interview_bookings_slot_id_interview_slots'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['stage_id'], ['selection_stages.id'], name=op.f('fk_interview_bookings_stage_id_selection_stages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_interview_bookings'))
    )
    with op.batch_alter_table('interview_bookings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_interview_bookings_application_id'), ['application_id'], unique=False)
        batch_op.create_index('ix_interview_bookings_slot_status', ['slot_id', 'status'], unique=False)
        batch_op.create_index('uq_interview_bookings_live', ['stage_id', 'application_id'], unique=True,
                              postgresql_where=sa.text("status <> 'cancelled'"),
                              sqlite_where=sa.text("status <> 'cancelled'"))
        batch_op.create_index('ix_interview_bookings_reminder_due', ['reminder_due_at'], unique=False,
                              postgresql_where=sa.text('reminded_at IS NULL'),
                              sqlite_where=sa.text('reminded_at IS NULL'))

    op.create_table('interview_scores',
    sa.Column('stage_id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('booking_id', sa.Integer(), nullable=False),
    sa.Column('interviewer_id', sa.Integer(), nullable=False),
    sa.Column('scores', sa.JSON(), nullable=False),
    sa.Column('weighted_score', sa.Numeric(precision=6, scale=4), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('notes_response_id', sa.Integer(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', TS, server_default=sa.func.now(), nullable=False),
    sa.Column('updated_at', TS, server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], name=op.f('fk_interview_scores_application_id_applications'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['booking_id'], ['interview_bookings.id'], name=op.f('fk_interview_scores_booking_id_interview_bookings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['interviewer_id'], ['users.id'], name=op.f('fk_interview_scores_interviewer_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['stage_id'], ['selection_stages.id'], name=op.f('fk_interview_scores_stage_id_selection_stages'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['notes_response_id'], ['responses.id'], name=op.f('fk_interview_scores_notes_response_id_responses'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_interview_scores')),
    sa.UniqueConstraint('stage_id', 'application_id', 'interviewer_id', name='uq_interview_scores_one_each')
    )
    with op.batch_alter_table('interview_scores', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_interview_scores_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_interview_scores_booking_id'), ['booking_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_interview_scores_interviewer_id'), ['interviewer_id'], unique=False)
        batch_op.create_index('ix_interview_scores_stage_interviewer', ['stage_id', 'interviewer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_interview_scores_notes_response_id'), ['notes_response_id'], unique=False)

    # An interview stage's notes questionnaire (issue 15 item 5): the owner holds the foreign key, as calls do.
    with op.batch_alter_table('selection_stages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('notes_questionnaire_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_selection_stages_notes_questionnaire_id_questionnaires'),
                                    'questionnaires', ['notes_questionnaire_id'], ['id'], ondelete='RESTRICT')
        batch_op.create_index(batch_op.f('ix_selection_stages_notes_questionnaire_id'), ['notes_questionnaire_id'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('selection_stages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_selection_stages_notes_questionnaire_id'))
        batch_op.drop_constraint(batch_op.f('fk_selection_stages_notes_questionnaire_id_questionnaires'),
                                 type_='foreignkey')
        batch_op.drop_column('notes_questionnaire_id')
    op.drop_table('interview_scores')
    op.drop_table('interview_bookings')
    op.drop_table('interview_slot_panel')
    op.drop_table('interview_slots')
