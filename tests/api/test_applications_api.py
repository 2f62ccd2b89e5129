"""GET /api/v1/applications and /{id}: staff see every application, an applicant's token only their own; cursor
pages walk every row exactly once; answers as the staff page shows them, documents as metadata only."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from fellowship.applications.models import ApplicationStatus, Document
from fellowship.audit.models import AuditEntry
from fellowship.auth.models import Role
from fellowship.calls.models import CallStatus, DocumentKind
from fellowship.extensions import db
from tests.api.helpers import bearer, token_for
from tests.factories import ApplicationFactory, CallFactory, UserFactory, submitted_application


def test_applicant_token_sees_only_their_own_applications(app_ctx: Flask, client: FlaskClient):
    call = CallFactory()
    amani, other = UserFactory(email="amani@example.org"), UserFactory(email="other@example.org")
    own = submitted_application(call, applicant=amani)
    theirs = submitted_application(call, applicant=other)
    secret = token_for(amani, "applications:read")

    listing = client.get("/api/v1/applications", headers=bearer(secret))
    assert listing.status_code == 200 and listing.headers["Cache-Control"] == "no-store"
    assert [item["id"] for item in listing.json["items"]] == [own.id]  # type: ignore[index]
    assert client.get(f"/api/v1/applications/{own.id}", headers=bearer(secret)).status_code == 200
    refused = client.get(f"/api/v1/applications/{theirs.id}", headers=bearer(secret))
    assert refused.status_code == 404 and refused.content_type == "application/problem+json"
    filtered = client.get(f"/api/v1/applications?call_id={call.id}", headers=bearer(secret))
    assert [item["id"] for item in filtered.json["items"]] == [own.id]  # type: ignore[index]


def test_staff_token_sees_every_application_filtered_by_call_and_status(app_ctx: Flask, client: FlaskClient):
    first, second = CallFactory(), CallFactory()
    reviewing = submitted_application(first)
    draft = ApplicationFactory(call=first)
    elsewhere = submitted_application(second)
    secret = token_for(UserFactory(email="staff@example.org", roles=[Role.STAFF]), "applications:read")

    every = client.get("/api/v1/applications", headers=bearer(secret)).json
    assert [item["id"] for item in every["items"]] == [reviewing.id, draft.id, elsewhere.id]  # type: ignore[index]
    by_call = client.get(f"/api/v1/applications?call_id={first.id}&status=under_review", headers=bearer(secret))
    assert [item["id"] for item in by_call.json["items"]] == [reviewing.id]  # type: ignore[index]
    assert by_call.json["items"][0]["status"] == ApplicationStatus.UNDER_REVIEW.value  # type: ignore[index]


def test_detail_has_the_answers_and_document_metadata_and_staff_views_are_audited(app_ctx: Flask,
                                                                                 client: FlaskClient):
    application = submitted_application(motivation="Rivers matter to my county.")
    db.session.add(Document(application_id=application.id, kind=DocumentKind.CV, filename="cv.pdf",
                            storage_key="k-cv-1", content_type="application/pdf", size=1234, sha256="a" * 64))
    db.session.commit()
    staff = UserFactory(email="staff@example.org", roles=[Role.STAFF])
    secret = token_for(staff, "applications:read")

    body = client.get(f"/api/v1/applications/{application.id}", headers=bearer(secret)).json
    answers = {a["key"]: a["text"] for s in body["sections"] for a in s["answers"]}  # type: ignore[index]
    assert answers["motivation"] == "Rivers matter to my county." and answers["given_name"] == "Amani"
    assert body["documents"] == [{"id": body["documents"][0]["id"], "kind": "cv", "filename": "cv.pdf",  # type: ignore[index]
                                  "content_type": "application/pdf", "size": 1234, "sha256": "a" * 64,
                                  "uploaded_at": body["documents"][0]["uploaded_at"]}]  # type: ignore[index]
    assert "storage_key" not in str(body)
    viewed = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "applications.viewed")).one()
    assert viewed.actor_id == staff.id and viewed.object_id == application.id


def test_cursor_pages_walk_every_row_exactly_once(app_ctx: Flask, client: FlaskClient):
    call = CallFactory()
    made = [submitted_application(call).id for _ in range(7)]
    secret = token_for(UserFactory(email="staff@example.org", roles=[Role.STAFF]), "applications:read")
    seen: list[int] = []
    url = f"/api/v1/applications?limit=3&call_id={call.id}"
    pages = 0
    while url:
        response = client.get(url, headers=bearer(secret))
        assert response.status_code == 200
        seen += [item["id"] for item in response.json["items"]]  # type: ignore[index]
        pages += 1
        cursor = response.json["next_cursor"]  # type: ignore[index]
        if cursor is None:
            assert "Link" not in response.headers
            url = ""
            continue
        link = response.headers["Link"]
        assert link.endswith('>; rel="next"')
        query = parse_qs(urlsplit(link[1:link.index(">")]).query)
        assert query["cursor"] == [cursor] and query["limit"] == ["3"] and query["call_id"] == [str(call.id)]
        url = f"/api/v1/applications?limit=3&call_id={call.id}&cursor={cursor}"
        if pages == 1:  # a row added while walking comes at the end, and is seen once
            made.append(submitted_application(call).id)
    assert seen == sorted(made) and len(set(seen)) == len(seen) == 8 and pages == 3


def test_public_calls_list_never_shows_drafts(app_ctx: Flask, client: FlaskClient):
    shown = CallFactory()
    past = CallFactory(status=CallStatus.DECIDED)
    draft = CallFactory(status=CallStatus.DRAFT)
    listing = client.get("/api/v1/calls")
    assert listing.status_code == 200
    assert [c["id"] for c in listing.json["items"]] == [shown.id, past.id]  # type: ignore[index]
    assert listing.json["items"][0]["accepting_applications"] is True  # type: ignore[index]
    assert client.get(f"/api/v1/calls/{draft.id}").status_code == 404
    assert client.get(f"/api/v1/calls/{past.id}").json["status"] == "decided"  # type: ignore[index]
