"""selection in stages (issue 15): stages per call, their rubrics, panels, scores, shortlist results and adjustments;
references at shortlist; every existing call gets one review-round stage owning its rubric and reviews

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30

"""
from alembic import op
import sqlalchemy as sa

import fellowship.models


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

TS = fellowship.models.UTCDateTime(timezone=True)


def upgrade():
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('references_at_shortlist', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))

    op.create_table('selection_stages',
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('review', 'shortlist', 'interview', name='stage_kind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('weight', sa.Integer(), nullable=False),
    sa.Column('reviewers_per_application', sa.Integer(), nullable=True),
    sa.Column('due_at', TS, nullable=True),
    sa.Column('blind', sa.Boolean(), nullable=False),
    sa.Column('advance_count', sa.Integer(), nullable=True),
    sa.Column('advance_by_quota', sa.Boolean(), nullable=False),
    sa.Column('advanced_at', TS, nullable=True),
    sa.Column('advanced_by_id', sa.Integer(), nullable=True),
    sa.Column('outcome_sent_at', TS, nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', TS, server_default=sa.func.now(), nullable=False),
    sa.Column('updated_at', TS, server_default=sa.func.now(), nullable=False),
    sa.CheckConstraint('advance_count IS NULL OR advance_count >= 0', name=op.f('ck_selection_stages_advance_count_not_negative')),
    sa.CheckConstraint('reviewers_per_application IS NULL OR reviewers_per_application >= 1', name=op.f('ck_selection_stages_stage_at_least_one_reviewer')),
    sa.CheckConstraint('weight BETWEEN 0 AND 100', name=op.f('ck_selection_stages_weight_is_percentage')),
    sa.ForeignKeyConstraint(['advanced_by_id'], ['users.id'], name=op.f('fk_selection_stages_advanced_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_selection_stages_call_id_calls'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_selection_stages')),
    sa.UniqueConstraint('call_id', 'position', name='uq_selection_stages_call_id_position')
    )
    with op.batch_alter_table('selection_stages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_selection_stages_call_id'), ['call_id'], unique=False)

    op.create_table('stage_criteria',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('stage_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('weight', sa.Numeric(precision=6, scale=3), nullable=False),
    sa.CheckConstraint('weight > 0', name=op.f('ck_stage_criteria_stage_criterion_weight_positive')),
    sa.ForeignKeyConstraint(['stage_id'], ['selection_stages.id'], name=op.f('fk_stage_criteria_stage_id_selection_stages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stage_criteria'))
    )
    with op.batch_alter_table('stage_criteria', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stage_criteria_stage_id'), ['stage_id'], unique=False)

    op.create_table('stage_panel_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('stage_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['stage_id'], ['selection_stages.id'], name=op.f('fk_stage_panel_members_stage_id_selection_stages'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_stage_panel_members_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stage_panel_members')),
    sa.UniqueConstraint('stage_id', 'user_id', name='uq_stage_panel_members_stage_id_user_id')
    )
    with op.batch_alter_table('stage_panel_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stage_panel_members_user_id'), ['user_id'], unique=False)

    op.create_table('stage_scores',
    sa.Column('stage_id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('score_count', sa.Integer(), nullable=False),
    sa.Column('raw_score', sa.Numeric(precision=6, scale=4), nullable=True),
    sa.Column('normalised_score', sa.Numeric(precision=6, scale=4), nullable=True),
    sa.Column('updated_at', TS, nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], name=op.f('fk_stage_scores_application_id_applications'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_stage_scores_call_id_calls'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['stage_id'], ['selection_stages.id'], name=op.f('fk_stage_scores_stage_id_selection_stages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('stage_id', 'application_id', name=op.f('pk_stage_scores'))
    )
    with op.batch_alter_table('stage_scores', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stage_scores_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_stage_scores_call_id'), ['call_id'], unique=False)
        batch_op.create_index('ix_stage_scores_stage_normalised', ['stage_id', 'normalised_score'], unique=False)

    op.create_table('stage_results',
    sa.Column('stage_id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('advanced', sa.Boolean(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=True),
    sa.Column('score', sa.Numeric(precision=6, scale=4), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('notified_at', TS, nullable=True),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], name=op.f('fk_stage_results_application_id_applications'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_stage_results_call_id_calls'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['stage_id'], ['selection_stages.id'], name=op.f('fk_stage_results_stage_id_selection_stages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('stage_id', 'application_id', name=op.f('pk_stage_results'))
    )
    with op.batch_alter_table('stage_results', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stage_results_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_stage_results_call_id'), ['call_id'], unique=False)
        batch_op.create_index('ix_stage_results_stage_advanced', ['stage_id', 'advanced', 'application_id'], unique=False)
        batch_op.create_index('ix_stage_results_stage_notified', ['stage_id', 'notified_at'], unique=False)

    op.create_table('stage_adjustments',
    sa.Column('stage_id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.Enum('include', 'exclude', name='adjustment_action', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('made_by_id', sa.Integer(), nullable=True),
    sa.Column('made_at', TS, nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], name=op.f('fk_stage_adjustments_application_id_applications'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['made_by_id'], ['users.id'], name=op.f('fk_stage_adjustments_made_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['stage_id'], ['selection_stages.id'], name=op.f('fk_stage_adjustments_stage_id_selection_stages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stage_adjustments')),
    sa.UniqueConstraint('stage_id', 'application_id', name='uq_stage_adjustments_stage_id_application_id')
    )
    with op.batch_alter_table('stage_adjustments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stage_adjustments_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_stage_adjustments_stage_id'), ['stage_id'], unique=False)

    # Later review rounds' assignments and reviews (the call's first round keeps assignments and reviews).
    op.create_table('stage_assignments',
    sa.Column('stage_id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('reviewer_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('active', 'withdrawn', name='assignment_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('due_at', TS, nullable=False),
    sa.Column('assigned_at', TS, nullable=False),
    sa.Column('assigned_by_id', sa.Integer(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], name=op.f('fk_stage_assignments_application_id_applications'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['assigned_by_id'], ['users.id'], name=op.f('fk_stage_assignments_assigned_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_stage_assignments_call_id_calls'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reviewer_id'], ['users.id'], name=op.f('fk_stage_assignments_reviewer_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['stage_id'], ['selection_stages.id'], name=op.f('fk_stage_assignments_stage_id_selection_stages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stage_assignments')),
    sa.UniqueConstraint('stage_id', 'application_id', 'reviewer_id', name='uq_stage_assignments_stage_application_reviewer')
    )
    with op.batch_alter_table('stage_assignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stage_assignments_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_stage_assignments_call_id'), ['call_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_stage_assignments_reviewer_id'), ['reviewer_id'], unique=False)
        batch_op.create_index('ix_stage_assignments_reviewer_status_due', ['reviewer_id', 'status', 'due_at', 'id'], unique=False)
        batch_op.create_index('ix_stage_assignments_stage_status', ['stage_id', 'status', 'application_id'], unique=False)

    op.create_table('stage_reviews',
    sa.Column('assignment_id', sa.Integer(), nullable=False),
    sa.Column('stage_id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('reviewer_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('draft', 'submitted', name='review_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('scores', sa.JSON(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('weighted_score', sa.Numeric(precision=6, scale=4), nullable=True),
    sa.Column('submitted_at', TS, nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', TS, server_default=sa.func.now(), nullable=False),
    sa.Column('updated_at', TS, server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], name=op.f('fk_stage_reviews_application_id_applications'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['assignment_id'], ['stage_assignments.id'], name=op.f('fk_stage_reviews_assignment_id_stage_assignments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reviewer_id'], ['users.id'], name=op.f('fk_stage_reviews_reviewer_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['stage_id'], ['selection_stages.id'], name=op.f('fk_stage_reviews_stage_id_selection_stages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stage_reviews')),
    sa.UniqueConstraint('assignment_id', name=op.f('uq_stage_reviews_assignment_id'))
    )
    with op.batch_alter_table('stage_reviews', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stage_reviews_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_stage_reviews_reviewer_id'), ['reviewer_id'], unique=False)
        batch_op.create_index('ix_stage_reviews_stage_status', ['stage_id', 'status'], unique=False)

    # The ranking reads its order a page at a time from these indexes (best score first, ties by id) and stores
    # the proposal as one row: the per-application copy of the order (ranking_positions) goes.
    op.drop_index('ix_application_scores_call_normalised', table_name='application_scores')
    op.drop_index('ix_application_scores_call_raw', table_name='application_scores')
    op.create_index('ix_application_scores_call_normalised', 'application_scores',
                    ['call_id', sa.text('normalised_mean DESC'), 'application_id'], unique=False)
    op.create_index('ix_application_scores_call_raw', 'application_scores',
                    ['call_id', sa.text('raw_mean DESC'), 'application_id'], unique=False)
    op.drop_table('ranking_positions')
    op.execute("DELETE FROM ranking_proposals")  # stored in the old shape: recomputed on the next view

    # Data: every existing call becomes a one-round call: one review-round stage, weight 100%, that owns the call's
    # rubric, panel and reviews (they stay where they are; the call's first review round reads them).
    op.execute(
        "INSERT INTO selection_stages (call_id, position, kind, name, weight, blind, advance_by_quota) "
        "SELECT id, 1, 'review', 'Review', 100, blind_review, false FROM calls"
        if op.get_bind().dialect.name == "postgresql" else
        "INSERT INTO selection_stages (call_id, position, kind, name, weight, blind, advance_by_quota) "
        "SELECT id, 1, 'review', 'Review', 100, blind_review, 0 FROM calls"
    )


def downgrade():
    op.execute("DELETE FROM ranking_proposals")
    op.create_table('ranking_positions',
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('sort', sa.String(length=20), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=60), nullable=False),
    sa.Column('selected', sa.Boolean(), nullable=False),
    sa.Column('waitlist_position', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('call_id', 'sort', 'position', name=op.f('pk_ranking_positions'))
    )
    op.drop_index('ix_application_scores_call_raw', table_name='application_scores')
    op.drop_index('ix_application_scores_call_normalised', table_name='application_scores')
    op.create_index('ix_application_scores_call_normalised', 'application_scores', ['call_id', 'normalised_mean'],
                    unique=False)
    op.create_index('ix_application_scores_call_raw', 'application_scores', ['call_id', 'raw_mean'], unique=False)
    op.drop_table('stage_reviews')
    op.drop_table('stage_assignments')
    op.drop_table('stage_adjustments')
    op.drop_table('stage_results')
    op.drop_table('stage_scores')
    op.drop_table('stage_panel_members')
    op.drop_table('stage_criteria')
    op.drop_table('selection_stages')
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_column('references_at_shortlist')
