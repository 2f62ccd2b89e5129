"""texts stored in English become message keys rendered in the reader's language (issue 16 follow-up)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-01

Sentences the system wrote into the database (eligibility reasons, the reasons of decisions recorded from the
proposal and of a shortlist's results) get a JSON column beside them holding the sentence as a message, [key,
params], shown in each reader's language; the English text stays for the record. Existing rows whose English text is
recognised are given their message here; the others keep showing the English they were stored in. A call's first
review round named by default ("Review") gets no stored name, so every reader sees the default in their language.
Downgrade drops the message columns (the English was kept) and writes "Review" back.
"""
from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

_NUMBER = r"(\d+)"

#: Eligibility reasons recognised in existing rows: (pattern, key, parameter names in group order). Reasons that
#: quote a question's label, a country, a degree or documents are left as stored: their English names cannot be
#: turned back into codes reliably.
ELIGIBILITY = [
    (r"The call's form has no date of birth question for this rule to read; check the form or the call's "
     r"eligibility settings\.", "no_question_date_of_birth", ()),
    (r"The call's form has no nationality question for this rule to read; check the form or the call's "
     r"eligibility settings\.", "no_question_nationality", ()),
    (r"The call's form has no degree question for this rule to read; check the form or the call's "
     r"eligibility settings\.", "no_question_degree", ()),
    (r"The call has no age limit\.", "no_age_limit", ()),
    (rf"Age at the deadline is {_NUMBER}; the limit is {_NUMBER}\.", "age_over_limit", ("age", "limit")),
    (rf"Age at the deadline is {_NUMBER} \(limit {_NUMBER}\)\.", "age_within_limit", ("age", "limit")),
    (r"The call requires no minimum degree\.", "no_minimum_degree", ()),
    (r"The call requires no documents\.", "no_documents_required", ()),
    (r"The call requires no reference letters\.", "no_references_required", ()),
    (rf"{_NUMBER} of {_NUMBER} reference letters? received\.", "letters_received_of", ("received", "num")),
    (rf"{_NUMBER} reference letters received \({_NUMBER} required\)\.", "letters_received_over",
     ("num", "required")),
]

#: Reasons the system gave to decisions recorded from the proposal, and to a shortlist's results.
SELECTION = [
    (r"Selected: included by the chair\.", "selected_included", ()),
    (rf"Selected: rank {_NUMBER}\.", "selected_rank", ("rank",)),
    (rf"Selected \(rank {_NUMBER}\)\.", "selected_rank", ("rank",)),
    (rf"Waitlist position {_NUMBER} \(rank {_NUMBER}\)\.", "waitlist_rank", ("position", "rank")),
    (rf"Waitlist position {_NUMBER}\.", "waitlist_position", ("position",)),
    (r"Not selected: excluded by the chair\.", "not_selected_excluded", ()),
    (rf"Not selected: rank {_NUMBER}, below the places and the waitlist\.", "not_selected_rank", ("rank",)),
    (r"Not selected this year\.", "not_selected", ()),
    (r"Advances: included by the chair\.", "advances_included", ()),
    (r"Does not advance: excluded by the chair\.", "not_advancing_excluded", ()),
    (rf"Advances: rank {_NUMBER}\.", "advances_rank", ("rank",)),
    (r"Does not advance: no score in the stages before the shortlist\.", "not_advancing_unscored", ()),
    (rf"Does not advance: rank {_NUMBER}, below the {_NUMBER} places\.", "not_advancing_rank", ("rank", "n")),
]


def _message(text: str | None, patterns: list[tuple[str, str, tuple[str, ...]]]) -> list | None:
    for pattern, key, names in patterns:
        match = re.fullmatch(pattern, (text or "").strip())
        if match:
            return [key, {name: int(value) for name, value in zip(names, match.groups(), strict=True)}]
    return None


def _fill(table: str, keys: tuple[str, ...], patterns: list[tuple[str, str, tuple[str, ...]]]) -> None:
    """Give every row whose reason is recognised its message (one UPDATE per row; old rows are few)."""
    bind = op.get_bind()
    where = " AND ".join(f"{key} = :{key}" for key in keys)
    rows = bind.execute(sa.text(f"SELECT {', '.join(keys)}, reason FROM {table}")).all()  # noqa: S608
    for row in rows:
        message = _message(row.reason, patterns)
        if message is not None:
            update = sa.text(f"UPDATE {table} SET reason_message = :message WHERE {where}")  # noqa: S608
            bind.execute(update.bindparams(sa.bindparam("message", type_=sa.JSON())),
                         {"message": message, **{key: getattr(row, key) for key in keys}})


def upgrade():
    for table in ('eligibility_results', 'decisions', 'stage_results'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('reason_message', sa.JSON(), nullable=True))
    with op.batch_alter_table('selection_stages', schema=None) as batch_op:
        batch_op.alter_column('name', existing_type=sa.String(length=120), nullable=True)

    _fill('eligibility_results', ('id',), ELIGIBILITY)
    _fill('decisions', ('id',), SELECTION)
    _fill('stage_results', ('stage_id', 'application_id'), SELECTION)
    # The default name every call's first review round was given (by 0016 or when a call first showed its stages):
    # no stored name, so each reader sees the default in their own language. A round a person named "Review" reads
    # the same in English and is translated elsewhere, which is what they meant.
    op.execute("UPDATE selection_stages SET name = NULL WHERE name = 'Review' AND kind = 'review'")


def downgrade():
    op.execute("UPDATE selection_stages SET name = 'Review' WHERE name IS NULL")
    with op.batch_alter_table('selection_stages', schema=None) as batch_op:
        batch_op.alter_column('name', existing_type=sa.String(length=120), nullable=False)
    for table in ('stage_results', 'decisions', 'eligibility_results'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('reason_message')
