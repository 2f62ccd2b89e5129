"""questionnaire engine: questionnaires, sections, questions, responses, answer sets, answer facets (issue 14)

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30

The engine's tables only; the owners (calls, applications) add their foreign keys in their own revisions.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

import fellowship.i18n.texts
import fellowship.models


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


KINDS = ('short_text', 'long_text', 'number', 'date', 'single_choice', 'multiple_choice', 'yes_no', 'country',
         'language_level', 'email', 'url', 'file', 'group')
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')


def upgrade():
    op.create_table('questionnaires',
    sa.Column('title', fellowship.i18n.texts.TextsType(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('structure_locked_at', fellowship.models.UTCDateTime(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', fellowship.models.UTCDateTime(), server_default=sa.func.now(), nullable=False),
    sa.Column('updated_at', fellowship.models.UTCDateTime(), server_default=sa.func.now(), nullable=False),
    sa.CheckConstraint('version >= 1', name=op.f('ck_questionnaires_version_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_questionnaires'))
    )
    op.create_table('questionnaire_sections',
    sa.Column('questionnaire_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('title', fellowship.i18n.texts.TextsType(), nullable=False),
    sa.Column('description', fellowship.i18n.texts.TextsType(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['questionnaire_id'], ['questionnaires.id'], name=op.f('fk_questionnaire_sections_questionnaire_id_questionnaires'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_questionnaire_sections')),
    sa.UniqueConstraint('questionnaire_id', 'key', name='uq_questionnaire_sections_key')
    )
    op.create_index(op.f('ix_questionnaire_sections_questionnaire_id'), 'questionnaire_sections', ['questionnaire_id'], unique=False)
    op.create_table('questions',
    sa.Column('questionnaire_id', sa.Integer(), nullable=False),
    sa.Column('section_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=True),
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum(*KINDS, name='question_kind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('label', fellowship.i18n.texts.TextsType(), nullable=False),
    sa.Column('help_text', fellowship.i18n.texts.TextsType(), nullable=True),
    sa.Column('required', sa.Boolean(), nullable=False),
    sa.Column('personal_data', sa.Boolean(), nullable=False),
    sa.Column('in_export', sa.Boolean(), nullable=False),
    sa.Column('tag', sa.String(length=40), nullable=True),
    sa.Column('config', sa.JSON(), nullable=False),
    sa.Column('condition', sa.JSON(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['questions.id'], name=op.f('fk_questions_group_id_questions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['questionnaire_id'], ['questionnaires.id'], name=op.f('fk_questions_questionnaire_id_questionnaires'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['section_id'], ['questionnaire_sections.id'], name=op.f('fk_questions_section_id_questionnaire_sections'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_questions')),
    sa.UniqueConstraint('questionnaire_id', 'key', name='uq_questions_key'),
    sa.UniqueConstraint('questionnaire_id', 'tag', name='uq_questions_tag')
    )
    op.create_index(op.f('ix_questions_questionnaire_id'), 'questions', ['questionnaire_id'], unique=False)
    op.create_index(op.f('ix_questions_section_id'), 'questions', ['section_id'], unique=False)
    op.create_index(op.f('ix_questions_group_id'), 'questions', ['group_id'], unique=False)
    op.create_table('responses',
    sa.Column('questionnaire_id', sa.Integer(), nullable=False),
    sa.Column('created_at', fellowship.models.UTCDateTime(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['questionnaire_id'], ['questionnaires.id'], name=op.f('fk_responses_questionnaire_id_questionnaires')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_responses'))
    )
    op.create_index(op.f('ix_responses_questionnaire_id'), 'responses', ['questionnaire_id'], unique=False)
    op.create_table('answer_sets',
    sa.Column('response_id', sa.Integer(), nullable=False),
    sa.Column('section_id', sa.Integer(), nullable=False),
    sa.Column('data', JSON_DOCUMENT, nullable=False),
    sa.Column('questionnaire_version', sa.Integer(), nullable=False),
    sa.Column('updated_at', fellowship.models.UTCDateTime(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['response_id'], ['responses.id'], name=op.f('fk_answer_sets_response_id_responses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['section_id'], ['questionnaire_sections.id'], name=op.f('fk_answer_sets_section_id_questionnaire_sections'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_answer_sets')),
    sa.UniqueConstraint('response_id', 'section_id', name='uq_answer_sets_response_section')
    )
    op.create_index(op.f('ix_answer_sets_section_id'), 'answer_sets', ['section_id'], unique=False)
    op.create_table('answer_facets',
    sa.Column('response_id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('value', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['question_id'], ['questions.id'], name=op.f('fk_answer_facets_question_id_questions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['response_id'], ['responses.id'], name=op.f('fk_answer_facets_response_id_responses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('response_id', 'question_id', 'value', name=op.f('pk_answer_facets'))
    )
    op.create_index('ix_answer_facets_question_value', 'answer_facets', ['question_id', 'value', 'response_id'], unique=False)


def downgrade():
    op.drop_index('ix_answer_facets_question_value', table_name='answer_facets')
    op.drop_table('answer_facets')
    op.drop_index(op.f('ix_answer_sets_section_id'), table_name='answer_sets')
    op.drop_table('answer_sets')
    op.drop_index(op.f('ix_responses_questionnaire_id'), table_name='responses')
    op.drop_table('responses')
    op.drop_index(op.f('ix_questions_group_id'), table_name='questions')
    op.drop_index(op.f('ix_questions_section_id'), table_name='questions')
    op.drop_index(op.f('ix_questions_questionnaire_id'), table_name='questions')
    op.drop_table('questions')
    op.drop_index(op.f('ix_questionnaire_sections_questionnaire_id'), table_name='questionnaire_sections')
    op.drop_table('questionnaire_sections')
    op.drop_table('questionnaires')
