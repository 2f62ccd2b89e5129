"""object storage for documents and exports (issue 18)

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-30

Reserved in the chain before the work was split; its owner fills in upgrade() and downgrade().
"""
from alembic import op
import sqlalchemy as sa

import fellowship.models


# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
