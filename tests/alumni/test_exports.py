"""The full alumni export: streamed below EXPORT_INLINE_LIMIT, built by a background job with progress above it."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from fellowship.alumni import exports
from fellowship.alumni.models import ExportJob, ExportStatus
from fellowship.auth.models import Role
from fellowship.extensions import db
from tests.alumni.test_outcomes import build_fixture
from tests.conftest import login, submit_form
from tests.documents.files import stored_files
from tests.factories import UserFactory
from tests.servers import wait_until


def _csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8").lstrip("\ufeff"))))


@pytest.fixture
def staff(app_ctx):
    return UserFactory(roles=[Role.STAFF])


def test_small_export_streams_directly_without_a_job(client, app_ctx, staff):
    build_fixture()
    login(client, staff.email)
    response = submit_form(client, "/staff/alumni/export", {"file_format": "csv"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = _csv_rows(response.get_data())
    assert rows[0] == exports.ALUMNI_HEADER
    assert len(rows) == 7  # the six alumni, not the fellow still in Japan
    by_name = {row[1]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert by_name["Achieng Tester"]["Latest country of residence"] == "Kenya"
    assert by_name["Achieng Tester"]["Leadership level"] == "manager"
    assert by_name["Bello Tester"]["Overdue"] == "1"
    assert db.session.scalar(select(func.count(ExportJob.id))) == 0


def test_large_export_runs_as_a_job_with_progress_and_downloads_for_its_creator(client, app, app_ctx, staff,
                                                                               monkeypatch, document_store):
    monkeypatch.setitem(app.config, "EXPORT_INLINE_LIMIT", 2)
    build_fixture()
    login(client, staff.email)
    response = submit_form(client, "/staff/alumni/export", {"file_format": "csv"})
    assert response.status_code == 302
    job = db.session.scalars(select(ExportJob)).one()
    assert response.headers["Location"].endswith(f"/staff/exports/{job.id}")
    assert (job.status, job.total_rows, job.done_rows, job.created_by_id) == (ExportStatus.QUEUED, 6, 0, staff.id)

    waiting = client.get(f"/staff/exports/{job.id}").get_data(as_text=True)
    assert "Waiting for a worker" in waiting and "Update automatically" in waiting
    assert 'http-equiv="refresh"' not in waiting  # it reloads itself only when asked (WCAG 2.2.1)
    assert 'http-equiv="refresh"' in client.get(f"/staff/exports/{job.id}?auto=1").get_data(as_text=True)
    assert client.get(f"/staff/exports/{job.id}/download").status_code == 302  # not ready: back to progress

    done = exports.build_export(job.id, batch_size=4)  # what the task runs: two batches, 4 then 2 rows
    assert done is not None
    db.session.expire_all()
    job = db.session.get_one(ExportJob, job.id)
    assert (job.status, job.done_rows, job.total_rows) == (ExportStatus.DONE, 6, 6)
    assert exports.build_export(job.id) is None  # a second delivery of the task does nothing

    page = client.get(f"/staff/exports/{job.id}").get_data(as_text=True)
    assert "Done: 6 rows." in page and 'http-equiv="refresh"' not in page
    download = client.get(f"/staff/exports/{job.id}/download")
    assert download.status_code == 200
    rows = _csv_rows(download.get_data())
    assert rows[0] == exports.ALUMNI_HEADER and len(rows) == 7
    assert sorted(row[1] for row in rows[1:]) == ["Achieng Tester", "Bello Tester", "Minh Tester", "Nusrat Tester",
                                                  "Siti Tester", "Wanjiru Tester"]

    other = UserFactory(roles=[Role.STAFF])
    client.post("/auth/logout")
    other_client = app.test_client()
    login(other_client, other.email)
    assert other_client.get(f"/staff/exports/{job.id}").status_code == 404
    assert other_client.get(f"/staff/exports/{job.id}/download").status_code == 404
    admin_client = app.test_client()
    login(admin_client, UserFactory(roles=[Role.ADMIN]).email)
    assert admin_client.get(f"/staff/exports/{job.id}/download").status_code == 200


def test_large_xlsx_export_job_writes_every_row(client, app, app_ctx, staff, monkeypatch, document_store):
    monkeypatch.setitem(app.config, "EXPORT_INLINE_LIMIT", 5)
    build_fixture()
    login(client, staff.email)
    assert submit_form(client, "/staff/alumni/export", {"file_format": "xlsx"}).status_code == 302
    job = db.session.scalars(select(ExportJob)).one()
    exports.build_export(job.id, batch_size=5)
    download = client.get(f"/staff/exports/{job.id}/download")
    assert download.status_code == 200 and download.mimetype == exports.XLSX_MIMETYPE
    rows = list(load_workbook(io.BytesIO(download.get_data())).active.iter_rows(values_only=True))
    assert list(rows[0]) == exports.ALUMNI_HEADER and len(rows) == 7


@pytest.mark.worker
def test_an_export_built_by_a_worker_process_is_kept_in_the_store_and_downloads_through_the_web(
        client, app, app_ctx, staff, monkeypatch, document_store, worker):
    """The worker writes the file into the configured store (a bucket on S3), and the web process reads it there."""
    monkeypatch.setitem(app.config, "EXPORT_INLINE_LIMIT", 2)
    build_fixture()
    before = stored_files(app)
    login(client, staff.email)
    assert submit_form(client, "/staff/alumni/export", {"file_format": "csv"}).status_code == 302
    job_id = db.session.scalars(select(ExportJob.id)).one()

    def finished() -> ExportJob | None:
        db.session.expire_all()
        job = db.session.get_one(ExportJob, job_id)
        return job if job.status in (ExportStatus.DONE, ExportStatus.FAILED) else None

    job = wait_until(finished, timeout=60, message=f"the worker did not finish the export:\n{worker.log()[-3000:]}")
    assert job.status is ExportStatus.DONE, job.error
    new = {key: data for key, data in stored_files(app).items() if key not in before}
    assert list(new) == [job.storage_key]
    download = client.get(f"/staff/exports/{job.id}/download")
    assert download.status_code == 200 and download.get_data() == new[job.storage_key]
    rows = _csv_rows(download.get_data())
    assert rows[0] == exports.ALUMNI_HEADER and len(rows) == 7
