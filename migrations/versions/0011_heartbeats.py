"""heartbeats of the worker and the beat

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30

"""
from alembic import op
import sqlalchemy as sa

import fellowship.models


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('heartbeats',
    sa.Column('kind', sa.Enum('worker', 'beat', name='process_kind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('node', sa.String(length=255), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('started_at', fellowship.models.UTCDateTime(), nullable=False),
    sa.Column('last_seen_at', fellowship.models.UTCDateTime(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_heartbeats')),
    sa.UniqueConstraint('kind', 'node', name=op.f('uq_heartbeats_kind'))
    )


def downgrade():
    op.drop_table('heartbeats')
