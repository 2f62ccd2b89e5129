"""PDFs as a parser reads them: active content hidden in object streams, passwords, damage and hostile size are
refused with a clear message on both upload routes (the applicant's documents and the referee's letter link),
while PDFs as word processors and scanners write them are accepted."""

from __future__ import annotations

import io
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from fellowship.applications.models import Document, Referee, RefereeStatus
from fellowship.calls.models import DocumentKind
from fellowship.documents.pdf_check import MAX_OBJECTS, PdfVerdict, check_pdf
from fellowship.documents.validation import InvalidDocument, validate_upload
from fellowship.extensions import db
from fellowship.models import utcnow
from fellowship.referees import services as referee_services
from tests.conftest import login, submit_form
from tests.documents.files import (
    CATALOG,
    PAGE,
    PDF,
    PDF_JS_AFTER_LONG_OBJECT_STREAM_DICTIONARY,
    PDF_JS_IN_ASCII_HEX_OBJECT_STREAM,
    PDF_JS_IN_ESCAPED_OBJECT_STREAM,
    encrypted_pdf,
    pdf,
    pdf_with_object_stream,
    stored_files,
    word_processor_pdf,
)
from tests.factories import ApplicationFactory, UserFactory

ACTIVE = "This PDF contains scripts, actions or attached files, which we do not accept."
PASSWORD = "This PDF is protected by a password, so reviewers could not open it. Remove the password"
DAMAGED = "This PDF is damaged or incomplete, so it cannot be read."
TOO_COMPLEX = "This PDF is too complex for us to check"


@dataclass(frozen=True)
class Route:
    """An upload form: the applicant's documents page, or the referee's emailed letter link."""

    name: str
    #: Makes the world and logs in as needed; returns the upload page's path.
    setup: Callable[[FlaskClient], str]
    form: Callable[[bytes], dict[str, Any]]
    accepted: str


def _applicant(client: FlaskClient) -> str:
    application = ApplicationFactory(applicant=UserFactory(email="amani@example.org"))
    login(client, "amani@example.org")
    return f"/applications/{application.id}/documents"


def _referee(client: FlaskClient) -> str:
    referee = Referee(application_id=ApplicationFactory().id, name="Prof. Grace Wanjiru", email="grace@uni.example",
                      relation="Supervisor", status=RefereeStatus.INVITED, invited_at=utcnow(),
                      link_nonce=secrets.token_urlsafe(16))
    db.session.add(referee)
    db.session.commit()
    return referee_services.letter_link(referee).removeprefix("http://localhost")


ROUTES = [
    Route("applicant", _applicant, lambda data: {"kind": "cv", "file": (io.BytesIO(data), "cv.pdf")},
          "CV uploaded: cv.pdf."),
    Route("referee", _referee, lambda data: {"file": (io.BytesIO(data), "letter.pdf")},
          "Your reference letter was received."),
]


def field_error(html: str) -> str:
    match = re.search(r'id="file-error">([^<]*)<', html)
    assert match, "no error is shown beside the file field"
    return match.group(1)


def document_count() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Document)) or 0


def assert_refused_beside_the_field(app, client, route: Route, content: bytes, message: str) -> None:
    page = route.setup(client)
    before = stored_files(app)
    response = submit_form(client, page, route.form(content))
    assert response.status_code == 200
    assert message in field_error(response.get_data(as_text=True))
    assert document_count() == 0
    assert stored_files(app) == before


# --- The three ways past the old byte scan, on both routes ------------------------------------------------------

@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
@pytest.mark.parametrize("content", [PDF_JS_IN_ESCAPED_OBJECT_STREAM, PDF_JS_IN_ASCII_HEX_OBJECT_STREAM,
                                     PDF_JS_AFTER_LONG_OBJECT_STREAM_DICTIONARY],
                         ids=["hex-escaped-stream-type", "ascii-hex-object-stream", "2kb-dictionary-before-stream"])
def test_javascript_hidden_in_an_object_stream_is_refused_on_both_upload_routes(app, client, app_ctx, route,
                                                                                content):
    assert_refused_beside_the_field(app, client, route, content, ACTIVE)


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
def test_a_clean_pdf_17_with_object_streams_as_word_processors_write_it_is_accepted_on_both_routes(
        app, client, app_ctx, route):
    content = word_processor_pdf()
    page = route.setup(client)
    response = submit_form(client, page, route.form(content), follow_redirects=True)
    assert route.accepted in response.get_data(as_text=True)
    document = db.session.scalars(select(Document)).one()
    assert stored_files(app)[document.storage_key] == content


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
def test_a_password_protected_pdf_is_refused_with_a_message_to_remove_the_password(app, client, app_ctx, route):
    assert_refused_beside_the_field(app, client, route, encrypted_pdf(user_password="open-sesame"), PASSWORD)


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
@pytest.mark.parametrize("content", [
    word_processor_pdf()[:len(word_processor_pdf()) // 2],   # the upload or the save stopped half-way
    word_processor_pdf()[:-6],                               # ... just before the end marker
    b"%PDF-1.4\n<html><body>not a PDF at all</body></html>\n%%EOF\n",   # a PDF header and nothing of a PDF
    PDF.replace(b"startxref", b"startref"),                  # no way to find the cross-reference
    PDF.replace(b"/Root 1 0 R", b"/Root 9 0 R"),             # the document's catalog is missing
], ids=["truncated-half", "truncated-end", "header-only", "no-startxref", "no-catalog"])
def test_a_damaged_or_truncated_pdf_is_refused_with_a_clear_message(app, client, app_ctx, route, content):
    assert_refused_beside_the_field(app, client, route, content, DAMAGED)


# --- What counts as active content, and what does not ------------------------------------------------------------

def checked(content: bytes) -> str:
    """validate_upload's answer for a CV: "accepted", or the message the user sees."""
    try:
        validate_upload(FileStorage(io.BytesIO(content), filename="cv.pdf"), DocumentKind.CV)
    except InvalidDocument as refusal:
        return str(refusal)
    return "accepted"


ACTIVE_CATALOGS = {
    "javascript-name-tree": b"<< /Type /Catalog /Pages 2 0 R /Names << /JavaScript << /Names [(a) 4 0 R] >> >> >>",
    "launch": b"<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /Launch /F (cmd.exe) >> >>",
    "hex-escaped-launch": b"<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /L#61unch /F (cmd.exe) >> >>",
    "additional-actions": b"<< /Type /Catalog /Pages 2 0 R /AA << /WC << /S /URI /URI (https://x.example) >> >> >>",
    "embedded-files": b"<< /Type /Catalog /Pages 2 0 R /Names << /EmbeddedFiles << /Names [(a.exe) 4 0 R] >> >> >>",
    "xfa-form": b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [] /XFA 4 0 R >> >>",
}
ACTIVE_PAGES = {
    "rich-media": PAGE[:-2] + b"/Annots [<< /Type /Annot /Subtype /RichMedia /Rect [0 0 9 9] >>] >>",
    "file-attachment": PAGE[:-2] + b"/Annots [<< /Type /Annot /Subtype /FileAttachment /FS 4 0 R >>] >>",
    "embedded-file-stream": PAGE[:-2] + b"/Annots [<< /Subtype /Link /A << /S /GoToE /F << /EF << /F 4 0 R >> >> >> "
                                        b">>] >>",
    "page-open-action": PAGE[:-2] + b"/AA << /O << /S /JavaScript /JS 4 0 R >> >> >>",
}
#: Object 4, what the actions above point at: a bare stream, harmless in itself.
_TARGET = b"<< /Length 2 >>\nstream\nMZ\nendstream"


@pytest.mark.parametrize("content", [pdf(body, extra=(_TARGET,)) for body in ACTIVE_CATALOGS.values()]
                         + [pdf(page=page, extra=(_TARGET,)) for page in ACTIVE_PAGES.values()],
                         ids=[*ACTIVE_CATALOGS, *ACTIVE_PAGES])
def test_every_kind_of_script_action_attachment_or_media_is_refused(app_ctx, content):
    assert checked(content).startswith(ACTIVE)


def test_active_content_in_a_pdf_protected_only_against_editing_is_found_and_refused(app_ctx):
    """Such a file opens without a password, so it is read (decrypted) and checked like any other."""
    script = pdf(b"<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>")
    assert checked(encrypted_pdf(user_password="", content=script)).startswith(ACTIVE)


@pytest.mark.parametrize("content", [
    encrypted_pdf(user_password="", content=word_processor_pdf()),
    # Objects that refer to each other in a loop (and to themselves) are each read once.
    pdf(CATALOG[:-2] + b"/Loop 4 0 R >>", extra=(b"[4 0 R 5 0 R 1 0 R]", b"<< /Back 4 0 R /Self 5 0 R >>")),
    # A page content stream may contain any bytes, names such as /JS too: it is text and drawing, never read.
    pdf(page=PAGE[:-2] + b"/Contents 4 0 R >>",
        extra=(b"<< /Length 28 >>\nstream\nBT /JS 12 Tf (/Launch) Tj ET\nendstream",)),
    # A link to a web page and an /OpenAction that only opens page 1 are ordinary.
    pdf(CATALOG[:-2] + b"/OpenAction [3 0 R /Fit] >>",
        page=PAGE[:-2] + b"/Annots [<< /Subtype /Link /Rect [0 0 9 9] /A << /S /URI /URI (https://a.example) >> >>]"
                         b" >>"),
], ids=["editing-restricted", "reference-loops", "names-in-page-content", "web-link-and-open-at-page-1"])
def test_ordinary_pdfs_are_accepted(app_ctx, content):
    assert checked(content) == "accepted"


# --- Bounded work --------------------------------------------------------------------------------------------------

def pdf_with_objects(count: int) -> bytes:
    """A small file (objects packed in an object stream) with `count` objects besides the catalog and page tree."""
    packed = {1: CATALOG, 2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>", 3: PAGE}
    packed.update(dict.fromkeys(range(4, 4 + count), b"null"))
    return pdf_with_object_stream(packed)


def test_a_pdf_with_more_than_100000_objects_is_refused_as_too_complex_to_check(app_ctx):
    assert MAX_OBJECTS == 100_000
    assert check_pdf(pdf_with_objects(MAX_OBJECTS - 10)) is PdfVerdict.CLEAN
    assert checked(pdf_with_objects(MAX_OBJECTS)).startswith(TOO_COMPLEX)


def deflate_bomb() -> bytes:
    """40 MB of spaces deflated to a few KB inside an object stream."""
    page_tree = b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
    return pdf_with_object_stream({1: CATALOG, 2: page_tree, 3: PAGE + b" " * (40 << 20)})


def one_huge_object() -> bytes:
    """One object of 4.5 million numbers: cheap to upload (9 MB), slow for a parser written in Python."""
    return pdf(extra=(b"[" + (b"[" + b"0 " * 90_000 + b"]") * 50 + b"]",))


@pytest.mark.parametrize("make", [deflate_bomb, one_huge_object], ids=["deflate-bomb", "one-huge-object"])
def test_a_pdf_built_to_exhaust_the_checker_is_refused_quickly(app_ctx, make):
    content = make()
    started = time.monotonic()
    assert checked(content).startswith(TOO_COMPLEX)
    assert time.monotonic() - started < 30  # a few seconds; more on a busy machine
