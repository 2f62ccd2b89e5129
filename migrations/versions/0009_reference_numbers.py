"""reference numbers unique by construction

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30

"""
from alembic import op
import sqlalchemy as sa

import fellowship.models  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'reference_series',
        sa.Column('prefix', sa.String(length=10), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('last_number', sa.Integer(), nullable=False),
        sa.CheckConstraint('last_number >= 0', name=op.f('ck_reference_series_last_number_not_negative')),
        sa.PrimaryKeyConstraint('prefix', 'year', name=op.f('pk_reference_series')),
    )
    # Each series continues after the highest number any call of that prefix and year handed out.
    op.execute(
        "INSERT INTO reference_series (prefix, year, last_number) "
        "SELECT reference_prefix, year, MAX(last_reference_number) FROM calls GROUP BY reference_prefix, year"
    )
    with op.batch_alter_table('calls') as batch_op:
        batch_op.drop_column('last_reference_number')


def downgrade():
    with op.batch_alter_table('calls') as batch_op:
        batch_op.add_column(sa.Column('last_reference_number', sa.Integer(), nullable=False, server_default='0'))
    op.execute(
        "UPDATE calls SET last_reference_number = (SELECT last_number FROM reference_series s "
        "WHERE s.prefix = calls.reference_prefix AND s.year = calls.year)"
    )
    op.drop_table('reference_series')
