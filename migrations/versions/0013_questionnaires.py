"""questionnaire engine: questionnaires, sections, questions, responses, answer sets, answer facets (issue 14)

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30

Reserved in the chain before the work was split; its owner fills in upgrade() and downgrade().
"""
from alembic import op
import sqlalchemy as sa

import fellowship.models


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
