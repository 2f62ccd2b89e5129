"""Documents as an applicant, staff and an outsider meet them: upload, refusal, replace, delete, download."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from fellowship.applications.models import ApplicationStatus, Document
from fellowship.auth.models import Role
from fellowship.extensions import db
from fellowship.models import utcnow
from fellowship.referees import services as referee_services
from tests.conftest import csrf_token_from, login, submit_form
from tests.documents.files import (
    LINUX_ELF,
    PDF,
    PDF_WITH_BARE_JS,
    PDF_WITH_ESCAPED_JAVASCRIPT,
    PDF_WITH_JAVASCRIPT,
    PDF_WITH_LAUNCH,
    WINDOWS_EXE,
    jpeg,
    pdf_with_image_stream,
    pdf_with_javascript_in_object_stream,
    png,
    stored_files,
    upload,
)
from tests.factories import ApplicationFactory, UserFactory

MB = 1024 * 1024


@pytest.fixture
def application(app_ctx):
    """A draft application whose applicant is ready to log in."""
    return ApplicationFactory(applicant=UserFactory(email="amani@example.org"))


def document_count() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Document)) or 0


def field_error(html: str) -> str:
    match = re.search(r'id="file-error">([^<]*)<', html)
    assert match, "no error is shown beside the file field"
    return match.group(1)


@pytest.mark.parametrize("content", [WINDOWS_EXE, LINUX_ELF], ids=["windows-exe", "linux-elf"])
def test_a_renamed_executable_is_refused_with_a_clear_message_and_nothing_is_stored(
        app, client, application, content, document_store):
    login(client, "amani@example.org")
    before = stored_files(app)
    response = upload(client, application.id, content, name="cv.pdf")
    assert response.status_code == 200
    assert "This file is not a PDF, JPEG or PNG." in field_error(response.get_data(as_text=True))
    assert document_count() == 0
    assert stored_files(app) == before


def test_a_file_over_the_limit_gets_a_clear_error_and_nothing_is_stored(app, client, application):
    login(client, "amani@example.org")
    before = stored_files(app)
    big = PDF + b"\n%" + b"x" * (int(10.5 * MB) - len(PDF) - 2)
    response = upload(client, application.id, big, name="cv.pdf")
    assert field_error(response.get_data(as_text=True)) == "The file is 10.5 MB; the limit is 10 MB."
    assert document_count() == 0
    assert stored_files(app) == before


def test_an_empty_file_is_refused(app, client, application):
    login(client, "amani@example.org")
    response = upload(client, application.id, b"", name="cv.pdf")
    assert "The file is empty" in field_error(response.get_data(as_text=True))
    assert document_count() == 0


@pytest.mark.parametrize("content", [PDF_WITH_JAVASCRIPT, PDF_WITH_ESCAPED_JAVASCRIPT, PDF_WITH_BARE_JS,
                                     PDF_WITH_LAUNCH, pdf_with_javascript_in_object_stream()],
                         ids=["javascript", "hex-escaped-javascript", "bare-js-key", "launch-action",
                              "in-object-stream"])
def test_a_pdf_with_scripts_or_actions_is_refused(app, client, application, content):
    login(client, "amani@example.org")
    before = stored_files(app)
    response = upload(client, application.id, content, name="cv.pdf")
    assert "This PDF contains scripts, actions or attached files" in field_error(response.get_data(as_text=True))
    assert document_count() == 0
    assert stored_files(app) == before


def test_image_bytes_inside_a_scanned_pdf_that_spell_js_do_not_get_it_refused(app, client, application):
    image = jpeg()[:-2] + b"\x00/JS \x13" + bytes(range(256)) * 4000 + b"\xff\xd9"
    login(client, "amani@example.org")
    response = upload(client, application.id, pdf_with_image_stream(image), name="scan.pdf", follow_redirects=True)
    assert "CV uploaded: scan.pdf." in response.get_data(as_text=True)
    assert document_count() == 1


@pytest.mark.parametrize(("content", "kind", "name", "stored_name", "content_type"), [
    (PDF, "cv", "My CV (2027).pdf", "My_CV_2027.pdf", "application/pdf"),
    (jpeg(), "passport", "passport photo.JPG", "passport_photo.jpg", "image/jpeg"),
    (png(), "transcript", "transcript.png", "transcript.png", "image/png"),
    # The type comes from the content: a PNG called .pdf is stored, and served, as a PNG.
    (png(), "other", "scan.pdf", "scan.png", "image/png"),
    (PDF, "other", "../../etc/passwd", "etc_passwd.pdf", "application/pdf"),
], ids=["pdf", "jpeg", "png", "png-named-pdf", "path-in-name"])
def test_a_valid_file_is_stored_under_a_random_name_and_downloads_byte_identical(
        app, client, application, content, kind, name, stored_name, content_type, document_store):
    login(client, "amani@example.org")
    before = stored_files(app)
    response = upload(client, application.id, content, name=name, kind=kind, follow_redirects=True)
    assert "uploaded" in response.get_data(as_text=True)

    document = db.session.scalars(select(Document)).one()
    assert (document.filename, document.content_type, document.size) == (stored_name, content_type, len(content))
    new_files = {k: v for k, v in stored_files(app).items() if k not in before}
    assert list(new_files) == [document.storage_key]
    assert new_files[document.storage_key] == content
    stem = stored_name.rsplit(".", 1)[0].lower()
    assert stem not in document.storage_key.lower() and re.fullmatch(r"[0-9a-f]{32,}", document.storage_key)

    download = client.get(f"/documents/{document.id}")
    assert download.status_code == 200
    assert download.data == content
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert stored_name in download.headers["Content-Disposition"]
    assert download.headers["Content-Type"].startswith(content_type)
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Cache-Control"] == "private, no-store"


def test_a_new_cv_replaces_the_old_one_but_other_documents_accumulate(app, client, application, document_store):
    login(client, "amani@example.org")
    upload(client, application.id, PDF, name="old-cv.pdf", kind="cv")
    old_key = db.session.scalars(select(Document.storage_key)).one()
    assert old_key in stored_files(app)
    upload(client, application.id, PDF + b"%new\n", name="new-cv.pdf", kind="cv")
    upload(client, application.id, png(), name="award.png", kind="other")
    upload(client, application.id, jpeg(), name="letter.jpg", kind="other")

    db.session.expire_all()
    rows = db.session.execute(select(Document.kind, Document.filename).order_by(Document.id)).all()
    assert [(k.value, f) for k, f in rows] == [("cv", "new-cv.pdf"), ("other", "award.png"), ("other", "letter.jpg")]
    assert old_key not in stored_files(app)  # the replaced file is gone once the change committed
    page = client.get(f"/applications/{application.id}/documents").get_data(as_text=True)
    assert "new-cv.pdf" in page and "old-cv.pdf" not in page
    assert re.search(r"CV:\s*<span class=\"tag tag-ok\">Uploaded", page)
    assert re.search(r"Passport page:\s*<span class=\"tag tag-missing\">Missing", page)


def test_the_applicant_removes_a_document_and_its_file(app, client, application, document_store):
    login(client, "amani@example.org")
    upload(client, application.id, PDF, name="cv.pdf")
    document = db.session.scalars(select(Document)).one()
    key, document_id = document.storage_key, document.id
    page = f"/applications/{application.id}/documents"
    response = submit_form(client, f"{page}/{document_id}/delete", {}, page=page, follow_redirects=True)
    assert "cv.pdf was removed." in response.get_data(as_text=True)
    assert document_count() == 0
    assert key not in stored_files(app)
    assert client.get(f"/documents/{document_id}").status_code == 404


def test_after_the_deadline_upload_and_delete_are_refused_with_the_message(app, client, application):
    login(client, "amani@example.org")
    upload(client, application.id, PDF, name="cv.pdf")
    document = db.session.scalars(select(Document)).one()
    application.call.closes_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    before = stored_files(app)

    page_url = f"/applications/{application.id}/documents"
    page = client.get(page_url).get_data(as_text=True)
    assert "The deadline has passed; documents can no longer be changed." in page
    assert 'type="file"' not in page and "/delete" not in page

    response = upload(client, application.id, png(), name="late.png", kind="other")
    assert "The deadline has passed; documents can no longer be changed." in response.get_data(as_text=True)
    response = submit_form(client, f"{page_url}/{document.id}/delete", {}, page=page_url, follow_redirects=True)
    assert "The deadline has passed; documents can no longer be changed." in response.get_data(as_text=True)
    assert document_count() == 1
    assert stored_files(app) == before
    assert client.get(f"/documents/{document.id}").data == PDF  # still there to download


def test_a_submitted_application_keeps_its_documents_fixed(app, client, application):
    application.status = ApplicationStatus.SUBMITTED
    application.reference = "ELF-2027-00001"
    application.submitted_at = utcnow()
    db.session.commit()
    login(client, "amani@example.org")
    response = upload(client, application.id, PDF, name="cv.pdf")
    assert "This application has been submitted; documents can no longer be changed." in response.get_data(
        as_text=True)
    assert document_count() == 0


def reference_letter_for(application) -> Document:
    """A letter uploaded through the referee's own link, as in real use."""
    referee = referee_services.add_referee(application, "Prof. Wanjiru", "wanjiru@uni.example", "Supervisor")
    token = referee_services.letter_link(referee).rsplit("/", 1)[-1]
    letter = referee_services.receive_letter(token, FileStorage(io.BytesIO(PDF), filename="letter.pdf"))
    db.session.commit()
    return letter


def test_only_the_owner_and_staff_can_download_and_only_staff_a_reference_letter(
        app, client, application, document_store):
    other_app = ApplicationFactory(applicant=UserFactory(email="bola@example.org"))
    UserFactory(email="staff@example.org", roles=[Role.STAFF])
    UserFactory(email="reviewer@example.org", roles=[Role.REVIEWER])
    login(client, "amani@example.org")
    upload(client, application.id, PDF, name="cv.pdf")
    cv = db.session.scalars(select(Document)).one()
    letter = reference_letter_for(application)

    # The owner: their CV yes, the reference letter on their own application no.
    assert client.get(f"/documents/{cv.id}").status_code == 200
    assert client.get(f"/documents/{letter.id}").status_code == 404
    assert "letter.pdf" not in client.get(f"/applications/{application.id}/documents").get_data(as_text=True)

    # Anonymous: sent to log in, and nothing served.
    anonymous = app.test_client()
    response = anonymous.get(f"/documents/{cv.id}")
    assert response.status_code == 302 and "/auth/login" in response.location

    # Another applicant: 404 for the file, the page, and the upload and delete forms of A's application.
    bola = app.test_client()
    login(bola, "bola@example.org")
    for document_id in (cv.id, letter.id, 999999):
        assert bola.get(f"/documents/{document_id}").status_code == 404
    assert bola.get(f"/applications/{application.id}/documents").status_code == 404
    own_page = f"/applications/{other_app.id}/documents"
    token = csrf_token_from(bola.get(own_page).get_data(as_text=True))
    response = bola.post(f"/applications/{application.id}/documents",
                         data={"kind": "cv", "file": (io.BytesIO(PDF), "cv.pdf"), "csrf_token": token})
    assert response.status_code == 404
    response = bola.post(f"/applications/{application.id}/documents/{cv.id}/delete", data={"csrf_token": token})
    assert response.status_code == 404
    # ... nor through her own application's URL.
    response = bola.post(f"/applications/{other_app.id}/documents/{cv.id}/delete", data={"csrf_token": token})
    assert response.status_code == 404
    assert document_count() == 2

    # A reviewer (not yet assigned to anything): 404.
    reviewer = app.test_client()
    login(reviewer, "reviewer@example.org")
    assert reviewer.get(f"/documents/{cv.id}").status_code == 404

    # Staff: both, byte-identical.
    staff = app.test_client()
    login(staff, "staff@example.org")
    assert staff.get(f"/documents/{cv.id}").data == PDF
    response = staff.get(f"/documents/{letter.id}")
    assert response.status_code == 200 and response.data == PDF
    assert response.headers["Content-Disposition"].startswith("attachment;")
