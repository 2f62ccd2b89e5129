"""Downloads of the alumni outcomes: the dashboard's figures (small, streamed) and the full alumni export.

The full export has one row per alumnus: who, cohort, home, return, current career, latest answer and the
follow-up counts. Rows are read in keyset batches (id > last id, LIMIT n): no cursor stays open while the
background job commits its progress, on PostgreSQL and SQLite alike, and memory stays flat. Up to
EXPORT_INLINE_LIMIT rows (default 3000) stream in the request; above it an ExportJob is built by a Celery task that
writes the file in batches, updates done_rows after each, and stores it with the document storage.
"""

from __future__ import annotations

import csv
import io
import logging
import tempfile
from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from typing import IO, Any

from flask import current_app
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from sqlalchemy import func, or_, select, update

from fellowship.alumni.models import ExportJob, ExportStatus
from fellowship.alumni.outcomes import (
    Figures,
    Outcomes,
    current_career,
    followup_counts,
    home_region_column,
    latest_response,
)
from fellowship.applications.models import Application
from fellowship.audit.services import PendingEntry, pending, record
from fellowship.auth.models import User
from fellowship.calls.models import Call
from fellowship.documents.storage import get_storage, new_key
from fellowship.errors import DomainError
from fellowship.extensions import db
from fellowship.fellows.models import Fellow, FellowStatus
from fellowship.geo import country_name
from fellowship.models import utcnow
from fellowship.spreadsheets import XLSX_MIMETYPE, csv_cell, xlsx_cell

log = logging.getLogger(__name__)

EXPORT_KIND = "alumni"
EXPORT_BATCH = 500
FORMATS = ("csv", "xlsx")
MIMETYPES = {"csv": "text/csv; charset=utf-8", "xlsx": XLSX_MIMETYPE}
DEFAULT_INLINE_LIMIT = 3000
#: A RUNNING job not updated for this long is taken to have lost its worker and may be claimed again.
STALE_AFTER = timedelta(minutes=15)

#: Column headings, lazy: written in the language of whoever asked for the export (`_header`).
FIGURES_HEADER = [_l("Scope"), _l("Group"), _l("Alumni"), _l("Answered a follow-up"), _l("Living in home region"),
                  _l("Return rate"), _l("With a current career entry"), _l("In environmental work"),
                  _l("Environmental share"), _l("In leadership positions"), _l("Leadership share"),
                  _l("Follow-ups sent"), _l("Follow-ups completed"), _l("Response rate"), _l("Overdue follow-ups"),
                  _l("Lapsed follow-ups"), _l("Lost contact")]
ALUMNI_HEADER = [_l("Fellow id"), _l("Name"), _l("Email"), _l("Cohort"), _l("Cohort year"), _l("Home country"),
                 _l("Home region"), _l("Actual return date"), _l("Lost contact since"), _l("Directory opt-in"),
                 _l("Current position"), _l("Organisation"), _l("Sector"), _l("Career country"),
                 _l("Environmental work"), _l("Leadership level"), _l("Latest country of residence"),
                 _l("Follow-ups sent"), _l("Follow-ups completed"), _l("Overdue"), _l("Lapsed"),
                 _l("Next follow-up due")]


def _header(headings: Sequence[Any]) -> list[str]:
    """Headings as text in the current language (openpyxl takes no lazy string)."""
    return [str(heading) for heading in headings]


def inline_limit() -> int:
    """Rows above which the alumni export runs as a background job (config EXPORT_INLINE_LIMIT)."""
    return int(current_app.config.get("EXPORT_INLINE_LIMIT", DEFAULT_INLINE_LIMIT))


# --- the dashboard's figures -------------------------------------------------------------------------------------

def _figure_cells(scope: str, f: Figures) -> list[Any]:
    return [scope, f.label, f.alumni, f.answered, f.returned, f.return_rate, f.with_career, f.environmental,
            f.environmental_share, f.leadership, f.leadership_share, f.followups_sent, f.followups_completed,
            f.response_rate, f.overdue, f.lapsed, f.lost_contact]


def figure_rows(data: Outcomes, comparison: Sequence[Figures]) -> Iterator[list[Any]]:
    """The figures as rows: overall, by region, by country, then every cohort (rates as fractions 0..1)."""
    yield _figure_cells(_("Overall (%(cohort)s)", cohort=data.cohort_label), data.overall)
    for f in data.by_region:
        yield _figure_cells(_("Home region"), f)
    for f in data.by_country:
        yield _figure_cells(_("Home country"), f)
    for f in comparison:
        yield _figure_cells(_("Cohort"), f)


def _rate_text(value: Any) -> Any:
    return f"{value:.4f}" if isinstance(value, float) else value


def figures_csv(data: Outcomes, comparison: Sequence[Figures]) -> bytes:
    """The figures as UTF-8 CSV with a BOM (for Excel)."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow(_header(FIGURES_HEADER))
    for row in figure_rows(data, comparison):
        writer.writerow([csv_cell(_rate_text(v)) for v in row])
    return buffer.getvalue().encode("utf-8")


def figures_xlsx(data: Outcomes, comparison: Sequence[Figures]) -> IO[bytes]:
    """The figures as an XLSX workbook in a temporary file, rewound (rates as numbers formatted as percent)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Outcomes")[:31])  # Excel: at most 31 characters
    sheet.append(_header(FIGURES_HEADER))
    for row in figure_rows(data, comparison):
        sheet.append([xlsx_cell(v) for v in row])
    output = tempfile.TemporaryFile()  # noqa: SIM115 - handed to send_file, which closes it
    workbook.save(output)
    output.seek(0)
    return output


# --- the full alumni export --------------------------------------------------------------------------------------

def alumni_count() -> int:
    """Rows of the full alumni export (one per alumnus)."""
    return db.session.scalar(select(func.count(Fellow.id)).where(Fellow.status == FellowStatus.COMPLETED)) or 0


def _batch_ids(after_id: int, limit: int) -> list[int]:
    return list(db.session.scalars(select(Fellow.id).where(Fellow.status == FellowStatus.COMPLETED,
                                                           Fellow.id > after_id)
                                   .order_by(Fellow.id).limit(limit)))


def _batch_query(ids: Sequence[int]) -> Any:
    """The export's columns for the alumni `ids`; every subquery is restricted to them (bounded work per batch)."""
    latest, career, counts = latest_response(ids), current_career(ids), followup_counts(ids)
    return (select(Fellow.id, Application.given_name, Application.family_name, User.email, Call.title, Call.year,
                   Fellow.home_country, home_region_column(), Fellow.actual_return_date, Fellow.lost_contact_since,
                   Fellow.directory_opt_in, career.c.position, career.c.organisation, career.c.sector,
                   career.c.country, career.c.environmental, career.c.leadership_level,
                   latest.c.country_of_residence, counts.c.sent, counts.c.completed, counts.c.overdue,
                   counts.c.lapsed, counts.c.next_due)
            .join(Application, Application.id == Fellow.application_id)
            .join(User, User.id == Fellow.user_id)
            .join(Call, Call.id == Fellow.call_id)
            .outerjoin(career, career.c.fellow_id == Fellow.id)
            .outerjoin(latest, latest.c.fellow_id == Fellow.id)
            .outerjoin(counts, counts.c.fellow_id == Fellow.id)
            .where(Fellow.id.in_(ids))
            .order_by(Fellow.id))


def _cells(row: Any) -> list[Any]:
    (fellow_id, given, family, email, cohort, year, home, region, returned, lost, opt_in, position, organisation,
     sector, career_country, environmental, leadership, residence, sent, completed, overdue, lapsed, next_due) = row
    return [fellow_id, " ".join(p for p in (given, family) if p), email, cohort, year, country_name(home), region,
            returned.isoformat() if isinstance(returned, date) else None, lost, _("Yes") if opt_in else _("No"),
            position, organisation, sector.value if sector else None,
            country_name(career_country) if career_country else None,
            None if environmental is None else (_("Yes") if environmental else _("No")),
            leadership.value if leadership else None, country_name(residence) if residence else None,
            int(sent or 0), int(completed or 0), int(overdue or 0), int(lapsed or 0),
            next_due.isoformat() if isinstance(next_due, date) else None]


def alumni_batches(batch_size: int = EXPORT_BATCH) -> Iterator[list[list[Any]]]:
    """The full export's rows, one keyset batch at a time (a fresh query per batch, none held open)."""
    after = 0
    while True:
        ids = _batch_ids(after, batch_size)
        if not ids:
            return
        yield [_cells(row) for row in db.session.execute(_batch_query(ids)).all()]
        after = ids[-1]
        if len(ids) < batch_size:
            return


def alumni_csv_stream(batch_size: int = EXPORT_BATCH) -> Iterator[bytes]:
    """The full export as CSV chunks, for a response below the inline limit."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(_header(ALUMNI_HEADER))
    yield buffer.getvalue().encode("utf-8")
    for batch in alumni_batches(batch_size):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows([csv_cell(v) for v in row] for row in batch)
        yield buffer.getvalue().encode("utf-8")


def alumni_xlsx(batch_size: int = EXPORT_BATCH) -> IO[bytes]:
    """The full export as an XLSX workbook in a temporary file, rewound (write-only: flat memory)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Alumni")[:31])
    sheet.append(_header(ALUMNI_HEADER))
    for batch in alumni_batches(batch_size):
        for row in batch:
            sheet.append([xlsx_cell(v) for v in row])
    output = tempfile.TemporaryFile()  # noqa: SIM115 - the caller closes it
    workbook.save(output)
    output.seek(0)
    return output


def export_filename(file_format: str) -> str:
    return f"alumni-{utcnow():%Y%m%d}.{file_format}"


def inline_export_entry(file_format: str, rows: int) -> PendingEntry:
    """The audit entry of a direct download of the alumni export (it holds personal data)."""
    return pending("alumni.exported", None, format=file_format, rows=rows)


def create_export_job(user: User, file_format: str) -> ExportJob:
    """Queue a background build of the alumni export; the view enqueues the task after commit."""
    if file_format not in FORMATS:
        raise DomainError(_("Choose CSV or XLSX."))
    # The language the export is asked for in: the worker writes its headings in it.
    locale = get_locale()
    job = ExportJob(kind=EXPORT_KIND, params={"format": file_format, "locale": str(locale) if locale else "en"},
                    status=ExportStatus.QUEUED,
                    total_rows=alumni_count(), done_rows=0, created_by_id=user.id,
                    filename=export_filename(file_format))
    db.session.add(job)
    db.session.flush()
    record("alumni.export_requested", job, format=file_format, rows=job.total_rows)
    log.info("alumni export job %s queued (%s, %s rows)", job.id, file_format, job.total_rows)
    return job


def enqueue_export(job_id: int) -> bool:
    """Hand the job to the broker (after commit); a broker fault leaves it queued and is logged."""
    task = current_app.extensions["celery"].tasks["alumni.build_export"]
    try:
        task.apply_async((job_id,), retry=False)
    except Exception as exc:  # noqa: BLE001 - the job row stays queued; staff can retry from its page
        log.warning("alumni export job %s not queued (%s)", job_id, exc)
        return False
    return True


def _claim(job_id: int) -> bool:
    """Move the job to RUNNING unless another worker holds it (conditional UPDATE: one winner)."""
    now = utcnow()
    claimable = or_(ExportJob.status == ExportStatus.QUEUED,
                    (ExportJob.status == ExportStatus.RUNNING) & (ExportJob.updated_at < now - STALE_AFTER))
    result = db.session.execute(update(ExportJob).where(ExportJob.id == job_id, claimable)
                                .values(status=ExportStatus.RUNNING, done_rows=0, updated_at=now)
                                .execution_options(synchronize_session=False))
    return bool(getattr(result, "rowcount", 0))


def build_export(job_id: int, batch_size: int = EXPORT_BATCH) -> ExportJob | None:
    """Build a queued export job's file in batches, committing progress after each; idempotent.

    Commits (unlike most services) because progress must be visible to the progress page while it runs; only
    the task (and tests) call it. A job already done, or running in another worker, is left alone.
    """
    if not _claim(job_id):
        db.session.rollback()
        return None
    db.session.commit()
    job = db.session.get_one(ExportJob, job_id)
    file_format = job.params.get("format", "csv")
    locale = job.params.get("locale") or "en"
    with force_locale(locale):
        header, sheet_name = _header(ALUMNI_HEADER), _("Alumni")[:31]
    job.total_rows = alumni_count()
    db.session.commit()
    try:
        # The rows' words (yes/no, country names) in the language the export was asked for in, as its headings.
        with tempfile.TemporaryFile() as output, force_locale(locale):
            if file_format == "xlsx":
                workbook = Workbook(write_only=True)
                sheet = workbook.create_sheet(sheet_name)
                sheet.append(header)
            else:
                text = io.TextIOWrapper(output, encoding="utf-8", newline="", write_through=True)
                text.write("\ufeff")
                writer = csv.writer(text)
                writer.writerow(header)
            done = 0
            for batch in alumni_batches(batch_size):
                for row in batch:
                    if file_format == "xlsx":
                        sheet.append([xlsx_cell(v) for v in row])
                    else:
                        writer.writerow([csv_cell(v) for v in row])
                done += len(batch)
                job.done_rows = done
                db.session.commit()
            if file_format == "xlsx":
                workbook.save(output)
            else:
                text.flush()
                text.detach()
            output.seek(0)
            key = new_key()
            get_storage().save(key, output)
    except Exception as exc:
        db.session.rollback()
        job = db.session.get_one(ExportJob, job_id)
        job.status, job.error, job.finished_at = ExportStatus.FAILED, str(exc)[:500], utcnow()
        db.session.commit()
        log.exception("alumni export job %s failed", job_id)
        raise
    job.storage_key, job.status, job.finished_at = key, ExportStatus.DONE, utcnow()
    job.done_rows = done
    record("alumni.export_built", job, rows=done, actor_id=job.created_by_id)
    db.session.commit()
    log.info("alumni export job %s done (%s rows)", job_id, done)
    return job


def open_export(job: ExportJob) -> IO[bytes]:
    """The finished export's file from the storage."""
    if job.status is not ExportStatus.DONE or not job.storage_key:
        raise DomainError(_("This export is not ready yet."))
    return get_storage().open(job.storage_key)
