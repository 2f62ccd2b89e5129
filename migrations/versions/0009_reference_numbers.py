"""reference numbers unique by construction

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

import fellowship.models  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    pass  # filled in by the change that needs it


def downgrade():
    pass
