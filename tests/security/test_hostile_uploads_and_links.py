"""Hostile uploads, emailed links and cross-user posts: each refused with a clear message, nothing stored half.

Uploads: file names that try to leave the storage folder or smuggle control characters into headers, HTML
dressed as a PDF, and oversize or wrong-type letters on the referee's own upload link. Links: every kind of
emailed link that carries a token, forged, expired, reused or of another kind. Posts: one user's form posted
with another's session, and posts to objects of another user.
"""

from __future__ import annotations

import io
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import func, select

from fellowship.alumni import followups
from fellowship.alumni.models import FollowUp, FollowUpResponse, FollowUpStatus
from fellowship.alumni.survey import LINK_EXPIRED, LINK_USED
from fellowship.applications.models import Application, ApplicationStatus, Document, Referee, RefereeStatus
from fellowship.auth import invitations, tokens
from fellowship.auth.models import Role, User
from fellowship.extensions import db
from fellowship.models import utcnow
from fellowship.referees import services as referee_services
from fellowship.selection.models import Review
from tests.alumni.factories import add_follow_up, make_alumnus
from tests.alumni.test_survey import ANSWER
from tests.conftest import csrf_token_from, login, submit_form
from tests.documents.files import PDF, pdf, stored_files, uploads_dir
from tests.factories import ApplicationFactory, CallFactory, UserFactory, answer_of, submitted_application
from tests.selection.factories import AssignmentFactory, add_rubric, panel_reviewer

MB = 1024 * 1024
STRONG = "river-delta-mangrove-41"
HTML_AS_PDF = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
#: A real PDF that also carries a page of HTML (in a comment near its start, where a browser sniffing the type would
#: find it): it must never be served as HTML.
PDF_HTML_POLYGLOT = pdf(comment=b"<html><body><script>alert(document.cookie)</script></body></html>")
#: The HTML behind a PDF header and nothing of a PDF: a parser cannot read it, so it is refused outright.
HTML_BEHIND_A_PDF_HEADER = b"%PDF-1.4\n<html><body><script>alert(document.cookie)</script></body></html>\n%%EOF\n"


def field_error(html: str) -> str:
    match = re.search(r'id="file-error">([^<]*)<', html)
    assert match, "no error is shown beside the file field"
    return match.group(1)


def files_outside_uploads(app: Flask) -> set[Path]:
    """Every file under the instance folder's parent that is not in the upload folder."""
    uploads = uploads_dir(app).resolve()
    root = Path(app.config["INSTANCE_DIR"]).resolve().parent
    return {p for p in root.rglob("*") if p.is_file() and uploads not in p.resolve().parents}


# --- Uploads --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class UploadRoute:
    """Where a file is uploaded from, and who then downloads it."""

    name: str
    #: Makes the world; returns (upload page path, email of the user who may download the stored file).
    setup: Callable[[FlaskClient], tuple[str, str]]
    form: Callable[[bytes, str], dict[str, Any]]


def _applicant_route(client: FlaskClient) -> tuple[str, str]:
    application = ApplicationFactory(applicant=UserFactory(email="amani@example.org"))
    login(client, "amani@example.org")
    return f"/applications/{application.id}/documents", "amani@example.org"


def _referee_route(client: FlaskClient) -> tuple[str, str]:
    application = ApplicationFactory()
    referee = Referee(application_id=application.id, name="Prof. Grace Wanjiru", email="grace@uni.example",
                      relation="Supervisor", status=RefereeStatus.INVITED, invited_at=utcnow(),
                      link_nonce=secrets.token_urlsafe(16))
    db.session.add(referee)
    db.session.commit()
    UserFactory(email="staff@example.org", roles=[Role.STAFF])
    return referee_services.letter_link(referee).removeprefix("http://localhost"), "staff@example.org"


ROUTES = [
    UploadRoute("applicant", _applicant_route, lambda data, name: {"kind": "cv", "file": (io.BytesIO(data), name)}),
    UploadRoute("referee", _referee_route, lambda data, name: {"file": (io.BytesIO(data), name)}),
]

HOSTILE_NAMES = {
    "unix-traversal": "../../../../etc/passwd.pdf",
    "windows-traversal": "..\\..\\..\\windows\\boot.ini.pdf",
    "absolute-path": "/etc/cron.d/fellowship.pdf",
    "encoded-traversal": "%2e%2e%2f%2e%2e%2fescape.pdf",
    "nul-byte": "letter.pdf\x00.html",
    "header-injection": "letter\r\nContent-Type: text/html\r\n\r\n<script>x</script>.pdf",
    "quote-injection": 'letter.pdf"; filename="evil.html',
    "right-to-left-override": "letter\u202efdp.exe",
    "very-long": "L" * 5000 + ".pdf",
    "only-dots": "....pdf",
}


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
@pytest.mark.parametrize("name", HOSTILE_NAMES.values(), ids=HOSTILE_NAMES.keys())
def test_a_hostile_file_name_is_stored_inside_the_storage_folder_under_a_safe_name(app, client, app_ctx, route,
                                                                                   name):
    page, downloader = route.setup(client)
    before, outside_before = stored_files(app), files_outside_uploads(app)
    response = submit_form(client, page, route.form(PDF, name))
    assert files_outside_uploads(app) == outside_before, "nothing was written outside the upload folder"
    if response.status_code == 200:
        # A name that breaks the multipart headers themselves (raw CR LF) arrives as no file at all.
        assert field_error(response.get_data(as_text=True)).startswith("Choose ")
        assert stored_files(app) == before and _count(Document) == 0
        return
    assert response.status_code == 302, "a valid PDF under a strange name is accepted"

    document = db.session.scalars(select(Document)).one()
    assert re.fullmatch(r"[A-Za-z0-9_.-]{1,200}", document.filename), document.filename
    assert ".." not in document.filename and document.filename.endswith(".pdf")
    new_files = {k for k in stored_files(app) if k not in before}
    assert new_files == {document.storage_key}, "the one new file is in the upload folder, under its random key"

    reader = app.test_client()
    login(reader, downloader)
    download = reader.get(f"/documents/{document.id}")
    assert download.status_code == 200 and download.data == PDF
    disposition = download.headers["Content-Disposition"]
    assert disposition == f"attachment; filename={document.filename}"
    assert not re.search(r"[\x00-\x1f\x7f\u202e]", "".join(f"{k}: {v}" for k, v in download.headers.items()))


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
def test_an_html_page_renamed_pdf_is_refused_with_a_clear_message_and_nothing_is_stored(app, client, app_ctx,
                                                                                       route):
    page, _ = route.setup(client)
    before = stored_files(app)
    response = submit_form(client, page, route.form(HTML_AS_PDF, "letter.pdf"))
    assert response.status_code == 200
    assert "This file is not a PDF, JPEG or PNG." in field_error(response.get_data(as_text=True))
    assert db.session.scalar(select(func.count()).select_from(Document)) == 0
    assert stored_files(app) == before


def test_a_pdf_carrying_an_html_page_is_only_ever_served_as_a_pdf_download(app, client, app_ctx):
    """The validator promises type by content and no PDF actions; HTML inside a PDF is inert while the browser
    is told it is a PDF to save, must not sniff, and must sandbox it."""
    page, downloader = _applicant_route(client)
    assert submit_form(client, page, {"kind": "cv", "file": (io.BytesIO(PDF_HTML_POLYGLOT), "cv.html")}
                       ).status_code == 302
    document = db.session.scalars(select(Document)).one()
    assert document.filename == "cv.pdf" and document.content_type == "application/pdf"
    download = client.get(f"/documents/{document.id}")
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in download.headers["Content-Security-Policy"]


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
def test_html_behind_a_pdf_header_is_refused_as_a_damaged_pdf_and_nothing_is_stored(app, client, app_ctx, route):
    page, _ = route.setup(client)
    before = stored_files(app)
    response = submit_form(client, page, route.form(HTML_BEHIND_A_PDF_HEADER, "letter.pdf"))
    assert response.status_code == 200
    assert "This PDF is damaged or incomplete, so it cannot be read." in field_error(response.get_data(as_text=True))
    assert db.session.scalar(select(func.count()).select_from(Document)) == 0
    assert stored_files(app) == before


@pytest.mark.parametrize(("content", "message"), [
    (PDF + b"\n%" + b"x" * (int(10.5 * MB) - len(PDF) - 2), "The file is 10.5 MB; the limit is 10 MB."),
    (b"", "The file is empty"),
    (b"PK\x03\x04" + b"\x00" * 200, "This file is not a PDF, JPEG or PNG."),
], ids=["oversize", "empty", "zip"])
def test_the_referee_link_refuses_a_bad_letter_clearly_and_still_works_afterwards(app, client, app_ctx, content,
                                                                                 message):
    page, _ = _referee_route(client)
    before = stored_files(app)
    response = submit_form(client, page, {"file": (io.BytesIO(content), "letter.pdf")})
    assert response.status_code == 200 and message in field_error(response.get_data(as_text=True))
    assert db.session.scalar(select(func.count()).select_from(Document)) == 0
    assert stored_files(app) == before
    db.session.expire_all()
    assert db.session.scalars(select(Referee.status)).one() is RefereeStatus.INVITED
    assert submit_form(client, page, {"file": (io.BytesIO(PDF), "letter.pdf")}).status_code == 302


# --- Emailed links ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LinkKind:
    """One kind of emailed link that carries a signed token."""

    endpoint: str
    prefix: str
    salt: str
    max_age: Callable[[Flask], int]
    #: Makes the object the link acts on; returns the token's payload and a function reading what the link changes.
    make: Callable[[], tuple[dict[str, Any], Callable[[], Any]]]
    #: The link's legitimate use (opening it, or posting its form).
    use: Callable[[FlaskClient, str], Any]
    expired: str
    #: The refusal of a second use; None where a second use is harmless and changes nothing.
    used: str | None


def _confirm_world() -> tuple[dict[str, Any], Callable[[], Any]]:
    user = UserFactory(email_confirmed_at=None)
    return {"uid": user.id, "email": user.email}, lambda: _fresh(User, user.id).email_confirmed_at


def _reset_world() -> tuple[dict[str, Any], Callable[[], Any]]:
    user = UserFactory()
    payload = {"uid": user.id, "pw": tokens.password_fingerprint(user.password_hash)}
    return payload, lambda: _fresh(User, user.id).password_hash


def _letter_world() -> tuple[dict[str, Any], Callable[[], Any]]:
    application = ApplicationFactory()
    referee = Referee(application_id=application.id, name="Dr. Obi", email="obi@uni.example", relation="Employer",
                      status=RefereeStatus.INVITED, invited_at=utcnow(), link_nonce=secrets.token_urlsafe(16))
    db.session.add(referee)
    db.session.commit()
    return ({"rid": referee.id, "n": referee.link_nonce},
            lambda: (_fresh(Referee, referee.id).status, _count(Document)))


def _survey_world() -> tuple[dict[str, Any], Callable[[], Any]]:
    fellow = make_alumnus(home_country="GH")
    follow_up = add_follow_up(fellow, 6, FollowUpStatus.SENT, link_nonce=secrets.token_urlsafe(16), sent_at=utcnow())
    return ({"fid": follow_up.id, "n": follow_up.link_nonce},
            lambda: (_fresh(FollowUp, follow_up.id).status, _count(FollowUpResponse)))


def _invitation_world() -> tuple[dict[str, Any], Callable[[], Any]]:
    user = UserFactory(password_hash=invitations.new_invited_password_hash(), roles=[Role.REVIEWER])
    payload = {"uid": user.id, "pw": tokens.password_fingerprint(user.password_hash)}
    return payload, lambda: _fresh(User, user.id).password_hash


def _fresh(model: type, id_: int) -> Any:
    db.session.expire_all()
    return db.session.get_one(model, id_)


def _count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


LINK_KINDS = [
    LinkKind("auth.confirm", "/auth/confirm/", tokens.CONFIRM_SALT, lambda app: app.config["EMAIL_CONFIRM_MAX_AGE"],
             _confirm_world, lambda client, path: client.get(path),
             "This confirmation link has expired", None),
    LinkKind("auth.reset_password", "/auth/reset/", tokens.RESET_SALT,
             lambda app: app.config["PASSWORD_RESET_MAX_AGE"], _reset_world,
             lambda client, path: submit_form(client, path, {"password": STRONG, "confirm": STRONG}),
             "This password reset link has expired", "already been used"),
    LinkKind("referees.letter_upload", "/referee/", referee_services.LETTER_SALT,
             lambda app: referee_services.LINK_MAX_AGE, _letter_world,
             lambda client, path: submit_form(client, path, {"file": (io.BytesIO(PDF), "letter.pdf")}),
             referee_services.DEADLINE_PASSED, referee_services.LINK_USED),
    LinkKind("alumni.follow_up_survey", "/follow-up/", followups.LINK_SALT, lambda app: followups.LINK_MAX_AGE,
             _survey_world, lambda client, path: submit_form(client, path, ANSWER), LINK_EXPIRED, LINK_USED),
    LinkKind("auth.accept_invitation", "/auth/invitation/", tokens.INVITE_SALT,
             lambda app: app.config["INVITATION_MAX_AGE"], _invitation_world,
             lambda client, path: submit_form(client, path, {"full_name": "Ines Reviewer", "password": STRONG,
                                                             "confirm": STRONG}),
             "This invitation has expired", "This invitation has already been used"),
]
LINK_IDS = [k.endpoint for k in LINK_KINDS]


def test_the_table_of_link_kinds_lists_every_route_that_takes_a_token(app):
    with_token = {rule.endpoint for rule in app.url_map.iter_rules() if "token" in rule.arguments}
    assert with_token == set(LINK_IDS)


def _sign(app: Flask, salt: str, payload: dict[str, Any], *, key: str | None = None, age: int = 0) -> str:
    class IssuedEarlier(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - age

    return URLSafeTimedSerializer(key or app.config["SECRET_KEY"], salt=salt, signer=IssuedEarlier).dumps(payload)


def _assert_refused(app: Flask, client: FlaskClient, kind: LinkKind, path: str, message: str) -> None:
    """Opening the link, and posting its form if it has one, are refused with the message, as a page."""
    responses = [client.get(path)]
    if any("POST" in (rule.methods or ()) for rule in app.url_map.iter_rules(kind.endpoint)):
        csrf = csrf_token_from(client.get("/auth/login").get_data(as_text=True))
        responses.append(client.post(path, data={"csrf_token": csrf, "password": STRONG, "confirm": STRONG,
                                                 "file": (io.BytesIO(PDF), "letter.pdf"), **ANSWER}))
    for response in responses:
        html = response.get_data(as_text=True)
        assert response.status_code == 400, f"{path}: {response.status_code}"
        assert message in html and "Traceback" not in html


@pytest.mark.parametrize("kind", LINK_KINDS, ids=LINK_IDS)
@pytest.mark.parametrize("attack", ["tampered-signature", "signed-with-another-key", "expired", "of-another-kind"])
def test_a_forged_expired_or_misused_link_is_refused_clearly_and_changes_nothing(app, client, app_ctx, kind,
                                                                                attack):
    payload, state = kind.make()
    before = state()
    if attack == "tampered-signature":
        valid = _sign(app, kind.salt, payload)
        token = valid[:-4] + ("AAAA" if not valid.endswith("AAAA") else "BBBB")
    elif attack == "signed-with-another-key":
        token = _sign(app, kind.salt, payload, key=secrets.token_hex(32))
    elif attack == "expired":
        token = _sign(app, kind.salt, payload, age=kind.max_age(app) + 3600)
    else:
        other = next(k for k in LINK_KINDS if k is not kind)
        token = _sign(app, other.salt, payload)
    message = kind.expired if attack == "expired" else "This link is not valid"
    _assert_refused(app, client, kind, kind.prefix + token, message)
    assert state() == before


@pytest.mark.parametrize("kind", LINK_KINDS, ids=LINK_IDS)
def test_a_link_used_once_is_refused_or_harmless_the_second_time(app, client, app_ctx, kind):
    payload, state = kind.make()
    path = kind.prefix + _sign(app, kind.salt, payload)
    before = state()
    assert kind.use(client, path).status_code == 302
    after_first_use = state()
    assert after_first_use != before
    if kind.used is None:
        assert kind.use(app.test_client(), path).status_code == 302  # confirming twice: still confirmed, once
    else:
        _assert_refused(app, app.test_client(), kind, path, kind.used)
    assert state() == after_first_use


# --- Cross-user posts --------------------------------------------------------------------------------------------

def test_a_form_token_from_one_users_session_is_refused_in_another_users_session(app, app_ctx):
    mine = ApplicationFactory(applicant=UserFactory(email="amani@example.org"), motivation="Rivers.")
    theirs = ApplicationFactory(applicant=UserFactory(email="bola@example.org"), motivation="Forests.")
    amani, bola = app.test_client(), app.test_client()
    login(amani, "amani@example.org")
    login(bola, "bola@example.org")
    stolen = csrf_token_from(amani.get(f"/applications/{mine.id}/sections/motivation").get_data(as_text=True))
    response = bola.post(f"/applications/{theirs.id}/sections/motivation",
                         data={"motivation": "Planted by a forged form.", "submit": "Save", "csrf_token": stolen})
    assert response.status_code == 400
    assert answer_of(theirs.id, "motivation") == "Forests."


def test_another_applicants_posts_to_my_application_are_404_and_change_nothing(app, client, app_ctx):
    amani = UserFactory(email="amani@example.org")
    draft = ApplicationFactory(applicant=amani, motivation="Rivers.")
    submitted = submitted_application(applicant=amani, status=ApplicationStatus.SUBMITTED)
    referee = Referee(application_id=draft.id, name="Dr. Obi", email="obi@uni.example", relation="Employer",
                      status=RefereeStatus.INVITED, invited_at=utcnow(), link_nonce=secrets.token_urlsafe(16))
    db.session.add(referee)
    db.session.commit()
    UserFactory(email="bola@example.org")
    login(client, "bola@example.org")

    def snapshot() -> Any:
        db.session.expire_all()
        return (answer_of(draft.id, "motivation"), _fresh(Application, submitted.id).status,
                _fresh(Application, draft.id).status, _count(Referee), _count(Document))

    before = snapshot()
    posts = {
        f"/applications/{draft.id}/sections/motivation": {"motivation": "Changed by Bola.", "submit": "Save"},
        f"/applications/{draft.id}/submit": {},
        f"/applications/{draft.id}/referees": {"name": "Bola's friend", "email": "friend@example.org",
                                               "relation": "Friend"},
        f"/applications/{draft.id}/referees/{referee.id}/remove": {},
        f"/applications/{draft.id}/documents": {"kind": "cv", "file": (io.BytesIO(PDF), "cv.pdf")},
        f"/applications/{submitted.id}/withdraw": {},
        f"/applications/{submitted.id}/offer/accept": {},
    }
    csrf = csrf_token_from(client.get("/auth/profile").get_data(as_text=True))  # Bola's own, valid token
    for url, data in posts.items():
        response = client.post(url, data={**data, "csrf_token": csrf})
        assert response.status_code == 404, f"{url}: {response.status_code}"
    assert snapshot() == before


def test_a_reviewer_cannot_post_a_review_on_someone_elses_assignment(app, client, app_ctx):
    call = CallFactory()
    criteria = add_rubric(call, 1)
    application = submitted_application(call)
    assigned = panel_reviewer(call, email="assigned@example.org")
    other_member = panel_reviewer(call, email="other@example.org")
    assignment = AssignmentFactory(application=application, reviewer_id=assigned.id)
    form = {f"score_{criteria[0].id}": "5", "recommendation": "strongly_support", "comment": "Not mine to give.",
            "submit_review": "Submit review"}
    outsider = UserFactory(email="outsider@example.org", roles=[Role.REVIEWER])
    for email in (other_member.email, outsider.email):
        reviewer = app.test_client()
        login(reviewer, email)
        csrf = csrf_token_from(reviewer.get("/auth/profile").get_data(as_text=True))
        response = reviewer.post(f"/review/assignments/{assignment.id}", data={**form, "csrf_token": csrf})
        assert response.status_code == 404, email
    assert _count(Review) == 0


@pytest.mark.parametrize("kind", LINK_KINDS, ids=LINK_IDS)
def test_hammering_an_emailed_link_is_rate_limited_with_a_friendly_page(app, client, app_ctx, kind):
    """Guessing at links is slowed down: every kind of emailed link answers 429 after a burst of tries."""
    takes_posts = any("POST" in (rule.methods or ()) for rule in app.url_map.iter_rules(kind.endpoint))
    csrf = csrf_token_from(client.get("/auth/login").get_data(as_text=True))
    statuses = []
    for n in range(61):
        path = f"{kind.prefix}guess-{n}"
        response = (client.post(path, data={"csrf_token": csrf, "password": STRONG, "confirm": STRONG})
                    if takes_posts else client.get(path))
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert "Too many" in response.get_data(as_text=True)
            break
    assert statuses[-1] == 429, f"{kind.endpoint}: no limit after {len(statuses)} tries"
    assert set(statuses[:-1]) == {400}, "every guess before the limit is refused as an invalid link"
