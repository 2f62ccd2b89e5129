"""Streamed downloads (CSV exports read while the response is sent) arrive whole over real HTTP, and are audited
only once they have been produced: a download abandoned midway leaves no audit entry."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from fellowship.alumni import exports
from fellowship.applications import answer_exports
from fellowship.audit.models import AuditEntry
from fellowship.auth.models import Role
from fellowship.extensions import db
from fellowship.selection import export as selection_export
from tests.alumni.test_outcomes import build_fixture
from tests.conftest import csrf_token_from, login
from tests.documents.files import pdf, stored_files
from tests.factories import PASSWORD, ApplicationFactory, UserFactory, submitted_application


def http_login(base: str, email: str) -> requests.Session:
    session = requests.Session()
    token = csrf_token_from(session.get(f"{base}/auth/login", timeout=10).text)
    response = session.post(f"{base}/auth/login", data={"email": email, "password": PASSWORD, "csrf_token": token},
                            timeout=10, allow_redirects=False)
    assert response.status_code == 302, "login failed"
    return session


def audit_count(action: str) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == action)) or 0


def csv_rows(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


@pytest.fixture
def staff(app_ctx):
    return UserFactory(roles=[Role.STAFF])


def test_the_alumni_csv_downloads_whole_over_http_and_is_audited_once(live_server, app_ctx, staff):
    build_fixture()
    session = http_login(live_server, staff.email)
    token = csrf_token_from(session.get(f"{live_server}/staff/alumni/export", timeout=10).text)
    response = session.post(f"{live_server}/staff/alumni/export", data={"file_format": "csv", "csrf_token": token},
                            timeout=30)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/csv")
    rows = csv_rows(response.content)  # a connection dropped midway raises here (ChunkedEncodingError)
    assert rows[0] == exports.ALUMNI_HEADER and len(rows) == 7
    assert audit_count("alumni.exported") == 1


def test_a_stored_document_uploads_and_downloads_whole_over_http_from_either_store(app, live_server, app_ctx,
                                                                                  document_store):
    """Several megabytes through a real server both ways: the store's stream is sent as it is read."""
    from fellowship.applications.models import Document

    applicant = UserFactory()
    application = ApplicationFactory(applicant=applicant)
    content = pdf(comment=b"padding " * 400_000)  # 3.2 MB
    session = http_login(live_server, applicant.email)
    page = f"{live_server}/applications/{application.id}/documents"
    token = csrf_token_from(session.get(page, timeout=10).text)
    response = session.post(page, data={"kind": "cv", "csrf_token": token},
                            files={"file": ("big.pdf", content, "application/pdf")}, timeout=60)
    assert response.status_code == 200 and "CV uploaded: big.pdf." in response.text
    db.session.expire_all()
    document = db.session.scalars(select(Document)).one()
    assert stored_files(app)[document.storage_key] == content
    download = session.get(f"{live_server}/documents/{document.id}", timeout=60, stream=True)
    assert download.status_code == 200 and download.headers["Content-Type"] == "application/pdf"
    assert b"".join(download.iter_content(64 * 1024)) == content


def test_the_applications_and_ranking_csv_download_whole_over_http(live_server, app_ctx, staff):
    application = submitted_application()
    session = http_login(live_server, staff.email)
    call_id = application.call_id
    listing = session.get(f"{live_server}/staff/calls/{call_id}/applications.csv", timeout=30)
    assert listing.status_code == 200 and csv_rows(listing.content)[1][0] == application.reference
    ranking = session.get(f"{live_server}/staff/calls/{call_id}/ranking.csv", timeout=30)
    assert ranking.status_code == 200 and csv_rows(ranking.content)[0][0] == "Rank"
    assert audit_count("applications.exported") == 1
    assert audit_count("selection.ranking_exported") == 1


def _start_then_abandon(client: Any, method: str, url: str, data: dict[str, Any] | None = None) -> None:
    """Read the first chunk of a streamed download, then drop it, as a client whose connection broke."""
    if method == "POST":
        token = csrf_token_from(client.get(url).get_data(as_text=True))
        response = client.post(url, data={**(data or {}), "csrf_token": token}, buffered=False)
    else:
        response = client.get(url, buffered=False)
    assert response.status_code == 200 and response.is_streamed
    next(iter(response.response))
    response.close()


def test_a_download_abandoned_midway_is_not_audited(client, app_ctx, staff, monkeypatch):
    build_fixture()
    application = submitted_application()
    submitted_application(application.call)
    login(client, staff.email)
    # One row per chunk, so that each download has a middle to stop in.
    monkeypatch.setattr(answer_exports, "EXPORT_BATCH", 1)
    monkeypatch.setattr(selection_export, "EXPORT_BATCH", 1)
    _start_then_abandon(client, "POST", "/staff/alumni/export", {"file_format": "csv"})
    _start_then_abandon(client, "GET", f"/staff/calls/{application.call_id}/applications.csv")
    _start_then_abandon(client, "GET", f"/staff/calls/{application.call_id}/ranking.csv")
    assert audit_count("alumni.exported") == 0
    assert audit_count("applications.exported") == 0
    assert audit_count("selection.ranking_exported") == 0
