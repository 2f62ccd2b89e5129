"""The ranking as CSV and XLSX: one row per submitted review, the application's columns repeated on each.

An application without a submitted review still gets one row (with empty review columns), so every ranked
application appears. Rows are read in batches on a connection of their own; the CSV streams, the XLSX is built
by openpyxl's write-only workbook in a temporary file. Text cells that a spreadsheet would run as a formula get a
leading quote.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from sqlalchemy import Connection, Engine, Select, and_, case, func, select

from fellowship.applications.models import Application, ApplicationStatus
from fellowship.audit.services import PendingEntry, pending
from fellowship.auth.models import User
from fellowship.calls.models import Call
from fellowship.extensions import db
from fellowship.geo import country_name
from fellowship.selection.models import ApplicationScore, Review, ReviewScore, ReviewStatus, SelectionAdjustment
from fellowship.selection.ranking import RANKED_STATUSES, Proposal, Sort, score_column, strictness_query
from fellowship.spreadsheets import csv_cell, xlsx_cell

#: Rows fetched per round trip.
EXPORT_BATCH = 500
#: A spreadsheet reads a cell starting with one of these as a formula (or may): such cells get a leading quote.

#: Column headings, lazy: the spec takes them as text in the language of the request that asks for the export.
APPLICATION_HEADER = [_l("Rank"), _l("Reference"), _l("Given name"), _l("Family name"), _l("Nationality"),
                      _l("Region"), _l("Status"), _l("Submitted reviews"), _l("Raw mean"), _l("Normalised mean"),
                      _l("Spread"), _l("Disagreement"), _l("Proposal"), _l("Chair's adjustment"),
                      _l("Adjustment reason")]
REVIEW_HEADER = [_l("Reviewer"), _l("Review submitted at (UTC)"), _l("Weighted score"), _l("Recommendation")]


@dataclass(frozen=True, slots=True)
class ExportSpec:
    """What the export needs, as plain values: it may run after the request (and its session) ended."""

    call_id: int
    sort: Sort
    criteria: tuple[tuple[int, str], ...]
    proposal: Proposal
    #: The words of the file (headings, sheet names, yes/no) in the language of the request that asked for it.
    words: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @classmethod
    def for_call(cls, call: Call, sort: Sort, proposal: Proposal) -> ExportSpec:
        words = {"header": [str(h) for h in (*APPLICATION_HEADER, *REVIEW_HEADER)], "comment": _("Comment"),
                 "strictness": [str(h) for h in STRICTNESS_HEADER], "ranking": _("Ranking"),
                 "reviewers": _("Reviewers"), "yes": _("Yes"), "no": _("No")}
        return cls(call.id, sort, tuple((c.id, c.name) for c in call.criteria), proposal, words)

    def word(self, key: str, english: Any) -> Any:
        return self.words.get(key, english)

    @property
    def header(self) -> list[str]:
        return [*self.word("header", [*APPLICATION_HEADER, *REVIEW_HEADER]), *(name for _, name in self.criteria),
                self.word("comment", "Comment")]


def export_query(spec: ExportSpec) -> Select[*tuple[Any, ...]]:
    """Ranked applications x their submitted reviews (scores per criterion pivoted into columns), best first."""
    score = score_column(spec.sort)
    pivot = (select(ReviewScore.review_id,
                    *(func.max(case((ReviewScore.criterion_id == criterion_id, ReviewScore.score))).label(f"c{n}")
                      for n, (criterion_id, _) in enumerate(spec.criteria)))
             .join(Review, Review.id == ReviewScore.review_id)
             .where(Review.call_id == spec.call_id, Review.status == ReviewStatus.SUBMITTED)
             .group_by(ReviewScore.review_id).subquery())
    return (
        select(Application.id, Application.reference, Application.given_name, Application.family_name,
               Application.nationality, Application.region, Application.status,
               func.coalesce(ApplicationScore.review_count, 0), ApplicationScore.raw_mean,
               ApplicationScore.normalised_mean, ApplicationScore.spread, ApplicationScore.disagreement,
               SelectionAdjustment.action, SelectionAdjustment.reason, score.label("score"),
               User.full_name, Review.submitted_at, Review.weighted_score, Review.recommendation, Review.comment,
               *(pivot.c[f"c{n}"] for n in range(len(spec.criteria))))
        .outerjoin(ApplicationScore, ApplicationScore.application_id == Application.id)
        .outerjoin(SelectionAdjustment, SelectionAdjustment.application_id == Application.id)
        .outerjoin(Review, and_(Review.application_id == Application.id, Review.status == ReviewStatus.SUBMITTED))
        .outerjoin(User, User.id == Review.reviewer_id)
        .outerjoin(pivot, pivot.c.review_id == Review.id)
        .where(Application.call_id == spec.call_id, Application.status.in_(RANKED_STATUSES))
        .order_by(score.is_(None), score.desc(), Application.id, Review.submitted_at, Review.id)
    )


def export_rows(spec: ExportSpec, connection: Connection) -> Iterator[list[Any]]:
    """The export's rows as typed values (numbers stay numbers), read in batches."""
    result = connection.execution_options(yield_per=EXPORT_BATCH).execute(export_query(spec))
    rank = 0
    previous: int | None = None
    for row in result:
        (app_id, reference, given, family, nationality, region, status, reviews, raw, normalised, spread,
         disagreement, adjustment, reason, score, reviewer, submitted_at, weighted, recommendation, comment,
         *scores) = row
        if app_id != previous and score is not None:
            rank += 1
        previous = app_id
        status = ApplicationStatus(status)
        proposal = (_("Declined the offer") if status is ApplicationStatus.OFFER_DECLINED
                    else spec.proposal.status_of(app_id))
        yield [rank if score is not None else None, reference, given, family,
               country_name(nationality) if nationality else None, region, status.label,
               reviews, raw, normalised, spread, _("Yes") if disagreement else _("No"), proposal, adjustment, reason,
               reviewer, submitted_at, weighted, recommendation.label if recommendation else None, *scores,
               comment]


def export_csv(spec: ExportSpec, engine: Engine) -> Iterator[bytes]:
    """The ranking as UTF-8 CSV with a BOM (for Excel), yielded in batches on a connection of its own."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow([csv_cell(v) for v in spec.header])  # criterion names are typed by staff
    with engine.connect() as connection:
        for n, row in enumerate(export_rows(spec, connection), start=1):
            writer.writerow([csv_cell(v) for v in row])
            if n % EXPORT_BATCH == 0:
                yield buffer.getvalue().encode("utf-8")
                buffer.seek(0)
                buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


STRICTNESS_HEADER = [_l("Reviewer"), _l("Submitted reviews"), _l("Mean weighted score"), _l("Standard deviation"),
                     _l("Normalised")]


def export_xlsx(spec: ExportSpec, engine: Engine) -> IO[bytes]:
    """The ranking (and the reviewers' strictness) as an XLSX workbook in a temporary file, rewound."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(spec.word("ranking", "Ranking")[:31])
    sheet.append([xlsx_cell(v) for v in spec.header])  # criterion names are typed by staff
    with engine.connect() as connection:
        for row in export_rows(spec, connection):
            sheet.append([xlsx_cell(v) for v in row])
        reviewers = workbook.create_sheet(spec.word("reviewers", "Reviewers")[:31])
        reviewers.append([str(h) for h in spec.word("strictness", STRICTNESS_HEADER)])
        yes, no = spec.word("yes", "Yes"), spec.word("no", "No")
        for _row_id, name, count, mean, stddev, normalised in connection.execute(strictness_query(spec.call_id)):
            reviewers.append([xlsx_cell(v) for v in (name, count, mean, stddev, yes if normalised else no)])
    output = tempfile.TemporaryFile()  # noqa: SIM115 - handed to send_file, which closes it
    workbook.save(output)
    output.seek(0)
    return output


def export_entry(call: Call, file_format: str, sort: Sort) -> PendingEntry:
    """The audit entry of an export of the ranking (it holds personal data and every review)."""
    return pending("selection.ranking_exported", call, format=file_format, sort=sort,
                   applications=ranked_count(call.id))


def ranked_count(call_id: int) -> int:
    """How many applications the ranking (and so the export) holds."""
    return db.session.scalar(select(func.count(Application.id))
                             .where(Application.call_id == call_id, Application.status.in_(RANKED_STATUSES))) or 0
