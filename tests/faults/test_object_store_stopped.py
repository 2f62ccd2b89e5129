"""The object store stopped (issue 18): an upload says so beside the field and leaves no row without its object,
the rest of the form is kept, a download gets a clear 503 page, and once the store is back the same upload works."""

from __future__ import annotations

import io
import re
import time

import pytest
from sqlalchemy import func, select

from fellowship.applications.models import Document
from fellowship.extensions import db
from tests.applications.test_form_engine import _add_file_questions
from tests.conftest import csrf_token_from, login
from tests.documents.files import PDF, stored_files, upload
from tests.factories import ApplicationFactory, CallFactory, UserFactory, answer_of
from tests.servers import SeaweedServer

pytestmark = [pytest.mark.faults, pytest.mark.parametrize("document_store", ["s3"], indirect=True)]

MESSAGE = "We could not store your file just now; nothing was saved. Please try again in a few minutes."
EDUCATION = {"highest_degree": "master", "degree_subject": "Hydrology", "institution": "Nairobi University",
             "graduation_year": "2021"}


def document_count() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Document)) or 0


def error_beside(html: str, field: str) -> str:
    match = re.search(rf'id="{field}-error"[^>]*>(.*?)</', html, re.S)
    assert match, f"no error is shown beside the {field} field"
    return " ".join(match.group(1).split())


def post_section(client, application_id: int, section: str, data: dict) -> str:
    url = f"/applications/{application_id}/sections/{section}"
    token = csrf_token_from(client.get(url).get_data(as_text=True))
    response = client.post(url, data={**data, "csrf_token": token, "submit": "Save"},
                           content_type="multipart/form-data")
    assert response.status_code == 200, response.status_code  # the page again, with the refusal marked
    return response.get_data(as_text=True)


def test_an_upload_while_the_object_store_is_stopped_is_refused_clearly_and_works_after_restart(
        app, client, app_ctx, document_store, seaweed_server: SeaweedServer, report_proof):
    call = CallFactory()
    _add_file_questions(call.id)
    applicant = UserFactory()
    application = ApplicationFactory(call=call, applicant=applicant)
    login(client, applicant.email)
    before = stored_files(app)

    seaweed_server.stop()
    try:
        # A document: the message beside the file field, the chosen kind still chosen, no row.
        started = time.monotonic()
        response = upload(client, application.id, PDF, name="cv.pdf", kind="transcript")
        waited = time.monotonic() - started
        page = response.get_data(as_text=True)
        assert response.status_code == 200 and error_beside(page, "file") == MESSAGE
        assert re.search(r'<option selected value="transcript"|<option value="transcript" selected', page)
        assert document_count() == 0
        assert waited < 20, f"the upload waited {waited:.1f}s for a store that is down"

        # A file answer: the message beside that question; the section's other answers are saved.
        page = post_section(client, application.id, "education",
                            {**EDUCATION, "writing_sample": (io.BytesIO(PDF), "sample.pdf")})
        assert error_beside(page, "writing_sample") == MESSAGE
        assert 'value="Nairobi University"' in page
        assert answer_of(application.id, "institution") == "Nairobi University"
        assert answer_of(application.id, "writing_sample") is None  # no answer pointing at a missing file
    finally:
        seaweed_server.start()

    assert stored_files(app) == before  # nothing half-written either

    # The store is back: the same uploads go through, and download byte-identical.
    response = upload(client, application.id, PDF, name="cv.pdf", kind="transcript", follow_redirects=True)
    assert "Academic transcript uploaded: cv.pdf." in response.get_data(as_text=True)
    document = db.session.scalars(select(Document)).one()
    assert client.get(f"/documents/{document.id}").data == PDF
    post = f"/applications/{application.id}/sections/education"
    token = csrf_token_from(client.get(post).get_data(as_text=True))
    response = client.post(post, data={**EDUCATION, "writing_sample": (io.BytesIO(PDF), "sample.pdf"),
                                       "csrf_token": token, "submit": "Save"}, content_type="multipart/form-data")
    assert response.status_code == 302
    sample = answer_of(application.id, "writing_sample")
    assert sample["filename"] == "sample.pdf"
    assert client.get(f"/applications/{application.id}/answers/writing_sample").data == PDF
    assert set(stored_files(app)) - set(before) == {document.storage_key, sample["key"]}
    report_proof("object store stopped during upload", refused_uploads=2, rows_without_object=0,
                 uploads_after_restart=2, waited_seconds=round(waited))


def test_a_download_while_the_object_store_is_stopped_gets_a_clear_503_page(
        app, client, app_ctx, document_store, seaweed_server: SeaweedServer):
    applicant = UserFactory()
    application = ApplicationFactory(applicant=applicant)
    login(client, applicant.email)
    upload(client, application.id, PDF, name="cv.pdf")
    document = db.session.scalars(select(Document)).one()

    seaweed_server.stop()
    try:
        response = client.get(f"/documents/{document.id}")
    finally:
        seaweed_server.start()
    page = response.get_data(as_text=True)
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert "Stored files cannot be read just now. Please try again in a few minutes." in page
    assert "Traceback" not in page
    assert client.get(f"/documents/{document.id}").data == PDF  # and back once the store is


def test_the_deep_health_check_names_the_object_store_when_it_is_down(
        client, app_ctx, document_store, seaweed_server: SeaweedServer):
    from fellowship.health.models import ProcessKind
    from tests.health.test_heartbeats import seen

    seen(ProcessKind.WORKER, minutes_ago=0.1)
    seen(ProcessKind.BEAT, minutes_ago=0.1)
    assert client.get("/healthz?deep=1").get_json()["storage"] == {"ok": True}
    seaweed_server.stop()
    try:
        response = client.get("/healthz?deep=1")
    finally:
        seaweed_server.start()
    body = response.get_json()
    assert response.status_code == 503 and body["stale"] == ["storage"] and body["storage"] == {"ok": False}
    assert "EndpointConnectionError" in body["errors"]["storage"]
    assert client.get("/healthz?deep=1").status_code == 200
