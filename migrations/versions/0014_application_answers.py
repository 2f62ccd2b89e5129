"""applications answer through their call's questionnaire: data moved from columns into answer sets (issue 14)

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30

Schema and data: each call gets the default application form as its questionnaire (the form is written out below
as data, frozen as it was when this revision was written: app code may change, a migration must not); each
application gets a response whose answer sets hold what its columns held (stored JSON formats of the engine,
questionnaire version 1, facets for choice and country answers); the moved columns are dropped. The profile columns
that lists, quotas and conflicts filter on (names, date of birth, gender, nationality, residence, region, highest
degree, institution, environmental field) stay on the row as copies of the tagged answers.
downgrade() re-adds the moved columns, copies the answers back and removes the questionnaires this revision made.
"""
from datetime import date, datetime, timezone

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

import fellowship.i18n.texts
import fellowship.models


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')


def _choices(*pairs):
    return {'choices': [{'value': value, 'label': {'en': label}} for value, label in pairs]}


GENDERS = _choices(('female', 'Female'), ('male', 'Male'), ('non_binary', 'Non-binary'),
                   ('undisclosed', 'Prefer not to say'))
DEGREES = _choices(('secondary', 'Secondary school'), ('bachelor', "Bachelor's degree"),
                   ('master', "Master's degree"), ('doctorate', 'Doctorate'))
SECTORS = _choices(('government', 'Government'), ('ngo', 'NGO / civil society'), ('academia', 'University / research'),
                   ('private', 'Private sector'), ('international_organisation', 'International organisation'),
                   ('other', 'Other'))
FIELDS = _choices(('climate_mitigation', 'Climate mitigation'), ('climate_adaptation', 'Climate adaptation'),
                  ('biodiversity', 'Biodiversity'), ('water', 'Water'), ('waste', 'Waste'), ('energy', 'Energy'),
                  ('air_quality', 'Air quality'), ('forests_land', 'Forests and land'),
                  ('oceans_coasts', 'Oceans and coasts'), ('disaster_risk', 'Disaster risk reduction'),
                  ('environmental_policy', 'Environmental policy'), ('other', 'Other'))
LEVELS = _choices(('none', 'None'), ('A1', 'A1'), ('A2', 'A2'), ('B1', 'B1'), ('B2', 'B2'), ('C1', 'C1'), ('C2', 'C2'),
                  ('native', 'Native speaker'))

# (section key, title, [(kind, key, label, required, help text, personal data, tag, config)])
FORM = [
    ('personal', 'Personal details', [
        ('short_text', 'given_name', 'Given name(s)', True, None, True, 'given_name', {'max_length': 100}),
        ('short_text', 'family_name', 'Family name', True, None, True, 'family_name', {'max_length': 100}),
        ('date', 'date_of_birth', 'Date of birth', True, 'As in your passport.', True, 'date_of_birth',
         {'min': '1900-01-01', 'min_years_ago': 0}),
        ('single_choice', 'gender', 'Gender', True, None, True, 'gender', GENDERS),
        ('country', 'nationality', 'Nationality', True, None, False, 'nationality', {}),
        ('country', 'country_of_residence', 'Country of residence', True, None, False, 'country_of_residence', {}),
        ('short_text', 'phone', 'Phone', False, None, True, None, {'max_length': 40}),
    ]),
    ('education', 'Education', [
        ('single_choice', 'highest_degree', 'Highest degree completed', True, None, False, 'highest_degree', DEGREES),
        ('short_text', 'degree_subject', 'Subject of that degree', True, None, False, None, {'max_length': 200}),
        ('short_text', 'institution', 'University or institution', True, None, False, 'institution',
         {'max_length': 200}),
        ('number', 'graduation_year', 'Year of graduation', True, None, False, None,
         {'min': 1950, 'max': 2100, 'integer': True}),
    ]),
    ('experience', 'Work experience', [
        ('short_text', 'current_position', 'Current position', True, None, False, None, {'max_length': 200}),
        ('short_text', 'employer', 'Employer', True, None, False, None, {'max_length': 200}),
        ('single_choice', 'sector', 'Sector', True, None, False, None, SECTORS),
        ('number', 'years_experience', 'Years of work experience', True, None, False, None,
         {'min': 0, 'max': 60, 'integer': True}),
    ]),
    ('field', 'Environmental field', [
        ('single_choice', 'environmental_field', 'Main environmental field', True, None, False, 'environmental_field',
         FIELDS),
        ('long_text', 'field_description', 'Your work in this field', True, '30–300 words.', False, None,
         {'min_words': 30, 'max_words': 300}),
    ]),
    ('study_plan', 'Study plan in Japan', [
        ('short_text', 'preferred_host', 'Preferred host institution in Japan (optional)', False, None, False, None,
         {'max_length': 200}),
        ('long_text', 'study_plan', 'What you will study in Japan, and why', True, '150–1000 words.', False, None,
         {'min_words': 150, 'max_words': 1000}),
    ]),
    ('leadership', 'Leadership plan for your home country', [
        ('long_text', 'leadership_plan', 'How you will lead environmental work when you return home', True,
         '150–1000 words.', False, None, {'min_words': 150, 'max_words': 1000}),
    ]),
    ('motivation', 'Motivation', [
        ('long_text', 'motivation', 'Motivation essay', True, '200–800 words.', False, None,
         {'min_words': 200, 'max_words': 800}),
    ]),
    ('language', 'Languages', [
        ('single_choice', 'english_level', 'English (CEFR level)', True, None, False, None, LEVELS),
        ('single_choice', 'japanese_level', 'Japanese (CEFR level)', True, None, False, None, LEVELS),
        ('short_text', 'language_test', 'Language test and score (optional)', False,
         'For example: IELTS 7.0, TOEFL iBT 95, JLPT N4.', False, None, {'max_length': 200}),
    ]),
]
#: Kinds whose answers are written as facets (what list filters join on).
FACETED = {'single_choice', 'multiple_choice', 'country', 'yes_no'}

# The columns the answers come from (and go back to on downgrade); the profile columns stay on the row.
ENUMS = {
    'sector': ('government', 'ngo', 'academia', 'private', 'international_organisation', 'other'),
    'english_level': ('none', 'A1', 'A2', 'B1', 'B2', 'C1', 'C2', 'native'),
    'japanese_level': ('none', 'A1', 'A2', 'B1', 'B2', 'C1', 'C2', 'native'),
}
MOVED = [
    ('phone', sa.String(length=40)), ('degree_subject', sa.String(length=200)), ('graduation_year', sa.Integer()),
    ('current_position', sa.String(length=200)), ('employer', sa.String(length=200)),
    ('sector', sa.Enum(*ENUMS['sector'], name='sector', native_enum=False, create_constraint=True, length=32)),
    ('years_experience', sa.Integer()), ('field_description', sa.Text()), ('preferred_host', sa.String(length=200)),
    ('study_plan', sa.Text()), ('leadership_plan', sa.Text()), ('motivation', sa.Text()),
    ('english_level', sa.Enum(*ENUMS['english_level'], name='english_level', native_enum=False,
                              create_constraint=True, length=32)),
    ('japanese_level', sa.Enum(*ENUMS['japanese_level'], name='japanese_level', native_enum=False,
                               create_constraint=True, length=32)),
    ('language_test', sa.String(length=200)),
]
KEPT = ['given_name', 'family_name', 'date_of_birth', 'gender', 'nationality', 'country_of_residence',
        'highest_degree', 'institution', 'environmental_field']
PLAIN = {'phone', 'degree_subject', 'graduation_year', 'current_position', 'employer', 'years_experience',
         'field_description', 'preferred_host', 'study_plan', 'leadership_plan', 'motivation', 'language_test'}

questionnaires = sa.table('questionnaires', sa.column('id', sa.Integer), sa.column('title', sa.JSON),
                          sa.column('version', sa.Integer), sa.column('created_at', fellowship.models.UTCDateTime()),
                          sa.column('updated_at', fellowship.models.UTCDateTime()))
sections = sa.table('questionnaire_sections', sa.column('id', sa.Integer), sa.column('questionnaire_id', sa.Integer),
                    sa.column('key', sa.String), sa.column('position', sa.Integer), sa.column('title', sa.JSON),
                    sa.column('description', sa.JSON))
questions = sa.table('questions', sa.column('id', sa.Integer), sa.column('questionnaire_id', sa.Integer),
                     sa.column('section_id', sa.Integer), sa.column('group_id', sa.Integer),
                     sa.column('key', sa.String), sa.column('position', sa.Integer), sa.column('kind', sa.String),
                     sa.column('label', sa.JSON), sa.column('help_text', sa.JSON), sa.column('required', sa.Boolean),
                     sa.column('personal_data', sa.Boolean), sa.column('in_export', sa.Boolean),
                     sa.column('tag', sa.String), sa.column('config', sa.JSON), sa.column('condition', sa.JSON))
responses = sa.table('responses', sa.column('id', sa.Integer), sa.column('questionnaire_id', sa.Integer),
                     sa.column('created_at', fellowship.models.UTCDateTime()))
answer_sets = sa.table('answer_sets', sa.column('id', sa.Integer), sa.column('response_id', sa.Integer),
                       sa.column('section_id', sa.Integer), sa.column('data', JSON_DOCUMENT),
                       sa.column('questionnaire_version', sa.Integer),
                       sa.column('updated_at', fellowship.models.UTCDateTime()))
facets = sa.table('answer_facets', sa.column('response_id', sa.Integer), sa.column('question_id', sa.Integer),
                  sa.column('value', sa.String))
calls = sa.table('calls', sa.column('id', sa.Integer), sa.column('questionnaire_id', sa.Integer))


def _applications(columns):
    """The applications table as this revision sees it, with `columns` (name -> type) besides its keys."""
    return sa.table('applications', sa.column('id', sa.Integer), sa.column('call_id', sa.Integer),
                    sa.column('response_id', sa.Integer), sa.column('created_at', fellowship.models.UTCDateTime()),
                    sa.column('updated_at', fellowship.models.UTCDateTime()),
                    *(sa.column(name, type_) for name, type_ in columns))


def _now():
    return datetime.now(timezone.utc)


def _create_form(conn):
    """Insert the default application form; returns its id and {question key: (question id, section id, kind)}."""
    now = _now()
    questionnaire_id = conn.execute(questionnaires.insert().values(
        title={'en': 'Application form'}, version=1, created_at=now, updated_at=now).returning(questionnaires.c.id)
    ).scalar_one()
    found = {}
    for section_position, (section_key, title, items) in enumerate(FORM):
        section_id = conn.execute(sections.insert().values(
            questionnaire_id=questionnaire_id, key=section_key, position=section_position, title={'en': title},
            description=None).returning(sections.c.id)).scalar_one()
        for position, (kind, key, label, required, help_text, personal, tag, config) in enumerate(items):
            question_id = conn.execute(questions.insert().values(
                questionnaire_id=questionnaire_id, section_id=section_id, group_id=None, key=key, position=position,
                kind=kind, label={'en': label}, help_text={'en': help_text} if help_text else None,
                required=required, personal_data=personal, in_export=True, tag=tag, config=config, condition=None,
            ).returning(questions.c.id)).scalar_one()
            found[key] = (question_id, section_id, kind)
    return questionnaire_id, found


def _stored(kind, value):
    """A column's value as the engine stores the answer (None: no answer)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if kind == 'date':
        return value.isoformat() if isinstance(value, date) else str(value)[:10]
    if kind == 'number':
        return int(value)
    if kind == 'country':
        return str(value).upper()
    return value if isinstance(value, str) else str(value)


def upgrade():
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('questionnaire_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('eligibility_questions', sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f('ix_calls_questionnaire_id'), ['questionnaire_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_calls_questionnaire_id_questionnaires'), 'questionnaires',
                                    ['questionnaire_id'], ['id'], ondelete='RESTRICT')
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('response_id', sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_applications_response_id'), ['response_id'])
        batch_op.create_foreign_key(batch_op.f('fk_applications_response_id_responses'), 'responses',
                                    ['response_id'], ['id'], ondelete='RESTRICT')

    conn = op.get_bind()
    forms = {}
    for call_id in conn.execute(sa.select(calls.c.id).order_by(calls.c.id)).scalars().all():
        forms[call_id] = _create_form(conn)
        conn.execute(calls.update().where(calls.c.id == call_id).values(questionnaire_id=forms[call_id][0]))

    kept_types = [('given_name', sa.String), ('family_name', sa.String), ('date_of_birth', sa.Date),
                  ('gender', sa.String), ('nationality', sa.String), ('country_of_residence', sa.String),
                  ('highest_degree', sa.String), ('institution', sa.String), ('environmental_field', sa.String)]
    moved_types = [(name, sa.Date if name == 'date_of_birth' else (sa.Integer if name in (
        'graduation_year', 'years_experience') else sa.String)) for name, _ in MOVED]
    applications = _applications(kept_types + moved_types)
    last_id = 0
    while True:  # in batches by id, so a large database is never read whole into memory
        rows = conn.execute(sa.select(applications).where(applications.c.id > last_id)
                            .order_by(applications.c.id).limit(500)).mappings().all()
        if not rows:
            break
        for row in rows:
            questionnaire_id, found = forms[row['call_id']]
            response_id = conn.execute(responses.insert().values(
                questionnaire_id=questionnaire_id, created_at=row['created_at'] or _now()
            ).returning(responses.c.id)).scalar_one()
            by_section = {}
            for key, (question_id, section_id, kind) in found.items():
                value = _stored(kind, row[key])
                if value is None:
                    continue
                by_section.setdefault(section_id, {})[key] = value
                if kind in FACETED:
                    conn.execute(facets.insert().values(response_id=response_id, question_id=question_id,
                                                        value=str(value)[:100]))
            for section_id, data in by_section.items():
                conn.execute(answer_sets.insert().values(response_id=response_id, section_id=section_id, data=data,
                                                         questionnaire_version=1,
                                                         updated_at=row['updated_at'] or _now()))
            conn.execute(applications.update().where(applications.c.id == row['id'])
                         .values(response_id=response_id))
        last_id = rows[-1]['id']

    with op.batch_alter_table('applications', schema=None) as batch_op:
        for name in ENUMS:  # SQLite's batch copy would keep a CHECK naming a dropped column
            batch_op.drop_constraint(batch_op.f(f'ck_applications_{name}'), type_='check')
        for name, _ in reversed(MOVED):
            batch_op.drop_column(name)


def _column_value(name, kind, value):
    """A stored answer as the column held it; None when it does not fit the column any more."""
    if value is None:
        return None
    if name in ENUMS:
        return value if value in ENUMS[name] else None
    if name in ('graduation_year', 'years_experience'):
        return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if not isinstance(value, str):
        return None
    limit = {'phone': 40, 'degree_subject': 200, 'current_position': 200, 'employer': 200, 'preferred_host': 200,
             'language_test': 200}.get(name)
    return value[:limit] if limit else value


def downgrade():
    with op.batch_alter_table('applications', schema=None) as batch_op:
        for name, type_ in MOVED:
            batch_op.add_column(sa.Column(name, type_, nullable=True))

    conn = op.get_bind()
    moved_names = [name for name, _ in MOVED]
    applications = _applications([(name, sa.Integer if name in ('graduation_year', 'years_experience')
                                   else sa.String) for name in moved_names])
    last_id = 0
    while True:
        rows = conn.execute(sa.select(applications.c.id, applications.c.response_id)
                            .where(applications.c.id > last_id, applications.c.response_id.is_not(None))
                            .order_by(applications.c.id).limit(500)).all()
        if not rows:
            break
        for application_id, response_id in rows:
            answers = {}
            for data in conn.execute(sa.select(answer_sets.c.data).where(answer_sets.c.response_id == response_id)
                                     ).scalars():
                answers.update(data or {})
            values = {name: _column_value(name, None, answers.get(name)) for name in moved_names}
            conn.execute(applications.update().where(applications.c.id == application_id).values(**values))
        last_id = rows[-1][0]

    response_ids = sa.select(applications.c.response_id).where(applications.c.response_id.is_not(None))
    form_ids = sa.select(calls.c.questionnaire_id).where(calls.c.questionnaire_id.is_not(None))
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_applications_response_id_responses'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_applications_response_id'), type_='unique')
    # The responses and forms this revision made belong to no one once the keys go: remove them with the keys.
    conn.execute(facets.delete().where(facets.c.response_id.in_(response_ids)))
    conn.execute(answer_sets.delete().where(answer_sets.c.response_id.in_(response_ids)))
    conn.execute(responses.delete().where(responses.c.id.in_(response_ids)))
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.drop_column('response_id')
    forms = conn.execute(form_ids).scalars().all()
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_calls_questionnaire_id_questionnaires'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_calls_questionnaire_id'))
        batch_op.drop_column('eligibility_questions')
        batch_op.drop_column('questionnaire_id')
    if forms:
        # Answer sets of other respondents (none at this revision) would hold these sections: remove them first.
        conn.execute(questions.delete().where(questions.c.questionnaire_id.in_(forms)))
        conn.execute(sections.delete().where(sections.c.questionnaire_id.in_(forms)))
        conn.execute(questionnaires.delete().where(questionnaires.c.id.in_(forms)))
