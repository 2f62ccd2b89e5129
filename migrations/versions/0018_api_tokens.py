"""personal access tokens for the JSON API (issue 18): hashed, scoped, expiring, revocable

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01

RESERVED STUB: the engineer working on this area fills in upgrade() and downgrade(); if the area needs no schema
change, this stays a no-op revision so the chain stays linear.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
