"""the final ranking over stages reads a stored combined order (issue 15 throughput)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02

A call in stages ranks by a combined score no index can walk; its stored proposal now keeps the order's head beside
it (combined_ranks: one row per application with a combined score, numbered best first), written by the same
refresh. Stored proposals are dropped so that each is recomputed, with its order, on the next view (as 0016 did).
Downgrade drops the table (and the proposals, recomputed without it).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('combined_ranks',
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('sort', sa.String(length=20), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('score', sa.Numeric(precision=6, scale=4), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], name=op.f('fk_combined_ranks_application_id_applications'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_combined_ranks_call_id_calls'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('call_id', 'sort', 'position', name=op.f('pk_combined_ranks'))
    )
    with op.batch_alter_table('combined_ranks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_combined_ranks_application_id'), ['application_id'], unique=False)
    op.execute("DELETE FROM ranking_proposals")  # recomputed on the next view, with the order beside them


def downgrade():
    op.execute("DELETE FROM ranking_proposals")
    with op.batch_alter_table('combined_ranks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_combined_ranks_application_id'))
    op.drop_table('combined_ranks')
