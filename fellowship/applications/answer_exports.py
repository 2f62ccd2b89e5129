"""The staff export of a call's applications with their answers: CSV and XLSX, one column per question.

The columns come from the call's questionnaire: a few of the application's own (reference, status, eligibility,
region, submission time), then every question marked "in export", headed by its label, through its kind's export
columns (choice labels, country names). A repeatable group's entries go to a sheet of their own in the XLSX and to
a CSV download of their own: one row per entry, with the application's reference.

The answers are read with the rows, in the same statement (applications LEFT JOIN their answer sets, ordered by
application): an application's answer sets arrive as consecutive rows and are merged, so the whole export is one
query however many applications it holds, fetched in batches of EXPORT_BATCH rows on a connection of its own (the
response is sent after the request ends). Every text cell goes through safe_cell (formula injection).
"""

from __future__ import annotations

import csv
import functools
import io
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from flask_babel import gettext as _
from openpyxl import Workbook
from sqlalchemy import Connection, Engine, Select, and_, select

from fellowship.applications.answer_filters import FormStamp, current_locale
from fellowship.applications.models import Application, ApplicationStatus
from fellowship.applications.staff_services import ListFilters, _conditions, count, eligibility_label, safe_cell
from fellowship.audit.services import PendingEntry, pending
from fellowship.calls.models import Call
from fellowship.extensions import db
from fellowship.geo import country_namer
from fellowship.i18n.texts import Texts
from fellowship.questions.kinds import KINDS, QuestionKind
from fellowship.questions.kinds.choice import choice_label
from fellowship.questions.models import AnswerSet, Question, Questionnaire, QuestionnaireSection
from fellowship.spreadsheets import xlsx_cell

#: Rows fetched per round trip (and CSV rows written per chunk sent).
EXPORT_BATCH = 500
#: Bytes per chunk when an XLSX file built on disk is sent.
FILE_CHUNK = 64 * 1024
#: What Excel refuses in a sheet name, and its length limit.
SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
SHEET_NAME_MAX = 31

Cell = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class Column:
    """One export column: its header, the question key it reads, and how the stored answer becomes the cell."""

    header: str
    key: str
    cell: Cell


@dataclass(frozen=True, slots=True)
class ExportSpec:
    """What an export needs, as plain values: it runs after the request (and its session) ended."""

    call_id: int
    year: int
    questionnaire_id: int | None
    filters: ListFilters

    @classmethod
    def for_call(cls, call: Call, filters: ListFilters) -> ExportSpec:
        return cls(call.id, call.year, call.questionnaire_id, filters)


def _label(question: Question, locale: str | None) -> str:
    return Texts.of(question.label).get_for(locale) or question.key


def question_columns(question: Question, locale: str | None) -> list[Column]:
    """A question's columns headed by its label: choices as their labels, yes/no as words, a country as its name
    (and its code beside it); other kinds as their kind exports them."""
    label = _label(question, locale)
    kind = KINDS[question.kind]
    if question.kind is QuestionKind.MULTIPLE_CHOICE:
        return [Column(label, question.key, lambda value: "; ".join(
            choice_label(question, v, locale) for v in value) if isinstance(value, list) and value else None)]
    if question.kind in (QuestionKind.SINGLE_CHOICE, QuestionKind.YES_NO):
        return [Column(label, question.key, lambda value: kind.display(question, value, locale) or None)]
    if question.kind is QuestionKind.COUNTRY:
        name = country_namer()  # the language looked up once, not per row
        return [Column(label, question.key, lambda value: name(value) if isinstance(value, str) else None),
                Column(_("%(question)s (code)", question=label), question.key, lambda value: value or None)]
    columns = kind.export_columns(question, locale)
    return [Column(label if header == question.key else f"{label} ({header.removeprefix(question.key + '_')})",
                   question.key, cell) for header, cell in columns]


def _exported(questionnaire: Questionnaire | None) -> list[Question]:
    if questionnaire is None:
        return []
    return [q for section in questionnaire.sections for q in section.questions if q.in_export]


def main_columns(questionnaire: Questionnaire | None, locale: str | None) -> list[Column]:
    """The main sheet's question columns in form order (groups excluded: they have their own sheet)."""
    return [c for q in _exported(questionnaire) if q.kind is not QuestionKind.GROUP
            for c in question_columns(q, locale)]


def groups(questionnaire: Questionnaire | None) -> list[Question]:
    """The repeatable groups that are exported, in form order."""
    return [q for q in _exported(questionnaire) if q.kind is QuestionKind.GROUP]


def group_columns(group: Question, locale: str | None) -> list[Column]:
    return [c for child in group.children if child.in_export and child.kind is not QuestionKind.GROUP
            for c in question_columns(child, locale)]


def fixed_header() -> list[str]:
    return [_("Reference"), _("Status"), _("Eligibility"), _("Region"), _("Submitted at (UTC)")]


def fixed_cells() -> Callable[[Any], list[Any]]:
    """The application's own cells of a row, for one export: a status or an eligibility is translated once per
    export and reused (gettext per row was a third of a 5,000-row export; the language cannot change mid-file)."""
    status_label = functools.cache(lambda status: ApplicationStatus(status).label)
    eligibility = functools.cache(eligibility_label)

    def cells(row: Any) -> list[Any]:
        return [row.reference, status_label(row.status), eligibility(row.eligible, row.eligibility_override),
                row.region, row.submitted_at]

    return cells


def _cells(columns: list[Column], answers: dict[str, Any]) -> list[Any]:
    return [column.cell(answers[column.key]) if answers.get(column.key) is not None else None
            for column in columns]


def group_entries(group: Question, columns: list[Column], answers: dict[str, Any]) -> list[list[Any]]:
    """One row per entry of the group's answer (each entry a dict of child key → stored value)."""
    entries = answers.get(group.key) or []
    return [_cells(columns, entry) for entry in entries if isinstance(entry, dict)]


def csv_value(value: Any, yes_no: tuple[str, str] | None = None) -> str:
    """A CSV cell: numbers as written, everything else as text a spreadsheet will not run as a formula.

    `yes_no`: the words for True and False, translated once by the caller writing many cells."""
    if value is None:  # an unanswered question, the commonest cell
        return ""
    if isinstance(value, bool):
        if yes_no is not None:
            return yes_no[0] if value else yes_no[1]
        return safe_cell(_("Yes") if value else _("No"))
    if isinstance(value, int | float):
        return str(value)
    return safe_cell(value)


# --- Reading ---------------------------------------------------------------------------------------------------

def rows_query(spec: ExportSpec, section_id: int | None = None) -> Select[Any]:
    """The filtered applications joined to their answer sets (only one section's, if given), oldest first."""
    joined = AnswerSet.response_id == Application.response_id
    if section_id is not None:
        joined = and_(joined, AnswerSet.section_id == section_id)
    return (
        select(Application.id, Application.reference, Application.status, Application.eligible,
               Application.eligibility_override, Application.region, Application.submitted_at, AnswerSet.data)
        .outerjoin(AnswerSet, joined)
        .where(*_conditions(spec.call_id, spec.filters))
        .order_by(Application.id, AnswerSet.section_id)
    )


def applications_with_answers(connection: Connection, query: Select[Any]) -> Iterator[tuple[Any, dict[str, Any]]]:
    """Each application's row with its answers merged across its answer sets (consecutive rows), in batches."""
    result = connection.execution_options(yield_per=EXPORT_BATCH).execute(query)
    current: Any = None
    answers: dict[str, Any] = {}
    for row in result:
        if current is not None and row.id != current.id:
            yield current, answers
            answers = {}
        current = row
        if row.data:
            answers.update(row.data)
    if current is not None:
        yield current, answers


def load_questionnaire(spec: ExportSpec) -> Questionnaire | None:
    """The call's form with its sections, questions and sub-questions (selectin: a handful of queries)."""
    return db.session.get(Questionnaire, spec.questionnaire_id) if spec.questionnaire_id else None


def find_group(questionnaire: Questionnaire | None, key: str) -> Question | None:
    return next((g for g in groups(questionnaire) if g.key == key), None)


@functools.lru_cache(maxsize=128)
def exported_groups(stamp: FormStamp, locale: str | None) -> tuple[tuple[str, str], ...]:
    """(key, label) of the form's exported repeatable groups, for the list's download links (kept per version)."""
    rows = db.session.execute(
        select(Question.key, Question.label)
        .join(QuestionnaireSection, QuestionnaireSection.id == Question.section_id)
        .where(Question.questionnaire_id == stamp.questionnaire_id, Question.group_id.is_(None),
               Question.kind == QuestionKind.GROUP, Question.in_export.is_(True))
        .order_by(QuestionnaireSection.position, Question.position, Question.id)).all()
    return tuple((key, Texts.of(label).get_for(locale) or key) for key, label in rows)


# --- CSV -------------------------------------------------------------------------------------------------------

def _csv_stream(header: list[str], rows: Iterator[list[Any]]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow([csv_value(h) for h in header])  # labels are typed by staff
    yes_no = (safe_cell(_("Yes")), safe_cell(_("No")))
    for n, row in enumerate(rows, start=1):
        writer.writerow([csv_value(v, yes_no) for v in row])
        if n % EXPORT_BATCH == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode("utf-8")


def export_csv(spec: ExportSpec, engine: Engine) -> Iterator[bytes]:
    """The filtered applications as UTF-8 CSV with a BOM (for Excel), one column per exported question, streamed."""
    locale = current_locale()
    questionnaire = load_questionnaire(spec)
    columns = main_columns(questionnaire, locale)
    own_cells = fixed_cells()

    def rows() -> Iterator[list[Any]]:
        with engine.connect() as connection:
            for row, answers in applications_with_answers(connection, rows_query(spec)):
                yield [*own_cells(row), *_cells(columns, answers)]

    yield from _csv_stream([*fixed_header(), *(c.header for c in columns)], rows())


def export_group_csv(spec: ExportSpec, group_key: str, engine: Engine) -> Iterator[bytes]:
    """One repeatable group's entries as CSV: one row per entry, with its application's reference."""
    locale = current_locale()
    questionnaire = load_questionnaire(spec)
    group = find_group(questionnaire, group_key)
    if group is None:  # checked by the view; the form changed in between
        return
    columns = group_columns(group, locale)

    def rows() -> Iterator[list[Any]]:
        with engine.connect() as connection:
            for row, answers in applications_with_answers(connection, rows_query(spec, group.section_id)):
                for entry in group_entries(group, columns, answers):
                    yield [row.reference, *entry]

    yield from _csv_stream([_("Reference"), *(c.header for c in columns)], rows())


# --- XLSX ------------------------------------------------------------------------------------------------------

def sheet_name(name: str, taken: set[str]) -> str:
    """A sheet name Excel accepts (no []:*?/\\, at most 31 characters), unique in the workbook."""
    base = SHEET_NAME_FORBIDDEN.sub(" ", name).strip() or "Sheet"
    candidate = base[:SHEET_NAME_MAX]
    n = 2
    while candidate.lower() in taken:
        suffix = f" ({n})"
        candidate = base[:SHEET_NAME_MAX - len(suffix)] + suffix
        n += 1
    taken.add(candidate.lower())
    return candidate


def _xlsx(value: Any) -> Any:
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    return xlsx_cell(value)


def build_xlsx(spec: ExportSpec, engine: Engine) -> IO[bytes]:
    """The workbook in a temporary file, rewound: an "Applications" sheet, then one sheet per repeatable group."""
    locale = current_locale()
    questionnaire = load_questionnaire(spec)
    columns = main_columns(questionnaire, locale)
    workbook = Workbook(write_only=True)
    taken: set[str] = set()
    main = workbook.create_sheet(sheet_name(_("Applications"), taken))
    main.append([_xlsx(h) for h in [*fixed_header(), *(c.header for c in columns)]])
    sheets = []
    for group in groups(questionnaire):
        sub = group_columns(group, locale)
        sheet = workbook.create_sheet(sheet_name(_label(group, locale), taken))
        sheet.append([_xlsx(h) for h in [_("Reference"), *(c.header for c in sub)]])
        sheets.append((group, sub, sheet))
    own_cells = fixed_cells()
    with engine.connect() as connection:
        for row, answers in applications_with_answers(connection, rows_query(spec)):
            main.append([_xlsx(v) for v in [*own_cells(row), *_cells(columns, answers)]])
            for group, sub, sheet in sheets:
                for entry in group_entries(group, sub, answers):
                    sheet.append([_xlsx(v) for v in [row.reference, *entry]])
    output = tempfile.TemporaryFile()  # noqa: SIM115 - closed by export_xlsx once sent
    workbook.save(output)
    output.seek(0)
    return output


def export_xlsx(spec: ExportSpec, engine: Engine) -> Iterator[bytes]:
    """The workbook, built whole on disk when the download starts, then sent in chunks."""
    with build_xlsx(spec, engine) as workbook:
        while chunk := workbook.read(FILE_CHUNK):
            yield chunk


def export_entry(call: Call, filters: ListFilters, file_format: str, group: str | None = None) -> PendingEntry:
    """The audit entry of an export of the call's applications: format, filters, group, how many applications."""
    details: dict[str, Any] = {"format": file_format, "filters": filters.as_args(), "rows": count(call.id, filters)}
    if group:
        details["group"] = group
    return pending("applications.exported", call, **details)
