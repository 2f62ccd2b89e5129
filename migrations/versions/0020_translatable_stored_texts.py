"""texts stored in English become message keys rendered in the reader's language (issue 16 follow-up)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-01

RESERVED STUB: the engineer working on this area fills in upgrade() and downgrade(); if the area needs no schema
change, this stays a no-op revision so the chain stays linear.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
