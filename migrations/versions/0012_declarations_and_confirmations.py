"""declarations made at submission; the reason an applicant gave for declining an offer

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30

"""
from alembic import op
import sqlalchemy as sa

import fellowship.models


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('declared_at', fellowship.models.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('declarations', sa.Text(), nullable=True))
    with op.batch_alter_table('offers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('decline_reason', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('offers', schema=None) as batch_op:
        batch_op.drop_column('decline_reason')
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.drop_column('declarations')
        batch_op.drop_column('declared_at')
