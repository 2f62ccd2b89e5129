"""Assigned reviewers read the documents and the reference letters; blind calls hide file names."""

from __future__ import annotations

from fellowship.applications.models import Document, Referee, RefereeStatus
from fellowship.calls.models import DocumentKind
from fellowship.documents.storage import get_storage, new_key
from fellowship.extensions import db
from tests.conftest import login
from tests.documents.files import PDF
from tests.factories import CallFactory, submitted_application
from tests.selection.factories import AssignmentFactory, panel_reviewer


def stored(application_id: int, kind: DocumentKind, filename: str, referee_id: int | None = None) -> Document:
    key = new_key()
    get_storage().save(key, PDF)
    document = Document(application_id=application_id, kind=kind, filename=filename, storage_key=key,
                        content_type="application/pdf", size=len(PDF), sha256="0" * 64, referee_id=referee_id)
    db.session.add(document)
    db.session.commit()
    return document


def test_an_assigned_reviewer_reads_the_reference_letter_and_a_blind_call_hides_file_names(client, app_ctx):
    call = CallFactory(blind_review=True)
    application = submitted_application(call)
    referee = Referee(application_id=application.id, name="Dr. Ref", email="ref@example.org", relation="Supervisor",
                      status=RefereeStatus.RECEIVED)
    db.session.add(referee)
    db.session.commit()
    cv = stored(application.id, DocumentKind.CV, "amani_njeri_cv.pdf")
    letter = stored(application.id, DocumentKind.REFERENCE_LETTER, "letter_for_amani.pdf", referee.id)
    reviewer = panel_reviewer(call)
    outsider = panel_reviewer(call)
    AssignmentFactory(application=application, reviewer_id=reviewer.id)

    login(client, reviewer.email)
    for document, expected_name in ((cv, "cv.pdf"), (letter, "reference_letter.pdf")):
        response = client.get(f"/documents/{document.id}")
        assert response.status_code == 200 and response.data == PDF
        assert f"filename={expected_name}" in response.headers["Content-Disposition"]
        assert "amani" not in response.headers["Content-Disposition"].lower()

    other = client.application.test_client()
    login(other, outsider.email)
    assert other.get(f"/documents/{letter.id}").status_code == 404
