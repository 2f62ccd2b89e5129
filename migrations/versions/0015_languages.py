"""languages: users' and referees' locale (issue 16)

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30

The account's interface language (null: not chosen, the cookie or the browser decides), the language a referee
is written to in, the language an outbox message is rendered in at delivery, and the translations staff write of
a call's texts (title, description, privacy notice, the staff-written paragraphs of its emails) and of its rubric
(criterion names, descriptions, level descriptions). The English texts stay where they were (the source), so no
existing row needs rewriting: the translation columns start empty and every text falls back to English.
"""
from alembic import op
import sqlalchemy as sa

import fellowship.i18n.texts
import fellowship.models


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locale', sa.String(length=10), nullable=True))
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locale', sa.String(length=10), nullable=True))
    with op.batch_alter_table('referees', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locale', sa.String(length=10), nullable=False, server_default='en'))
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locale', sa.String(length=10), nullable=False, server_default='en'))
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('title_translations', fellowship.i18n.texts.TextsType(), nullable=True))
        batch_op.add_column(sa.Column('description_translations', fellowship.i18n.texts.TextsType(), nullable=True))
        batch_op.add_column(sa.Column('privacy_notice', fellowship.i18n.texts.TextsType(), nullable=True))
        batch_op.add_column(sa.Column('email_texts', sa.JSON(), nullable=True))
    with op.batch_alter_table('rubric_criteria', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_translations', fellowship.i18n.texts.TextsType(), nullable=True))
        batch_op.add_column(sa.Column('description_translations', fellowship.i18n.texts.TextsType(), nullable=True))
        batch_op.add_column(sa.Column('level_translations', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('rubric_criteria', schema=None) as batch_op:
        batch_op.drop_column('level_translations')
        batch_op.drop_column('description_translations')
        batch_op.drop_column('name_translations')
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_column('email_texts')
        batch_op.drop_column('privacy_notice')
        batch_op.drop_column('description_translations')
        batch_op.drop_column('title_translations')
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_column('locale')
    with op.batch_alter_table('referees', schema=None) as batch_op:
        batch_op.drop_column('locale')
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.drop_column('locale')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('locale')
