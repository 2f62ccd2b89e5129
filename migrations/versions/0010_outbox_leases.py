"""outbox: delivery leases and a retry budget in time

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

import fellowship.models  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    pass  # filled in by the change that needs it


def downgrade():
    pass
