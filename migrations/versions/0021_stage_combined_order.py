"""the final ranking over stages reads a stored combined order (issue 15 throughput)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02

Placeholder taken early so the revision number is reserved; the schema change follows in a later commit.
"""
from __future__ import annotations

# revision identifiers, used by Alembic.
revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
