"""applications answer through their call's questionnaire: data moved from columns into answer sets (issue 14)

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30

Reserved in the chain before the work was split; its owner fills in upgrade() and downgrade().
"""
from alembic import op
import sqlalchemy as sa

import fellowship.models


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
