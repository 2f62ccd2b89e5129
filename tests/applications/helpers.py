"""Helpers that give an application the documents and referees a complete file needs."""

from __future__ import annotations

import secrets

from fellowship.applications.declarations import DECLARATIONS
from fellowship.applications.models import Application, Document, Referee, RefereeStatus
from fellowship.calls.models import DocumentKind
from fellowship.extensions import db

#: Every declaration ticked, as the review-and-submit page sends them (services.submit_application's argument).
DECLARED = tuple(DECLARATIONS)
#: The review-and-submit form with both declarations ticked.
DECLARATION_TICKS = {"declare_true": "y", "consent_privacy": "y"}


def attach_required_documents(application: Application) -> None:
    """Rows only: these tests are about the form, not about storage (tests/documents covers that)."""
    for kind in application.call.required_documents:
        db.session.add(Document(application_id=application.id, kind=DocumentKind(kind), filename=f"{kind}.pdf",
                                storage_key=secrets.token_hex(16), content_type="application/pdf", size=1000,
                                sha256="0" * 64))
    db.session.commit()


def name_referees(application: Application, count: int | None = None, received: bool = False) -> None:
    for i in range(count if count is not None else application.call.references_required):
        db.session.add(Referee(application_id=application.id, name=f"Referee {i}", email=f"ref{i}@example.org",
                               relation="Supervisor",
                               status=RefereeStatus.RECEIVED if received else RefereeStatus.INVITED))
    db.session.commit()


def make_complete(application: Application) -> Application:
    attach_required_documents(application)
    name_referees(application)
    return application


def owner_email(application: Application) -> str:
    from fellowship.auth.models import User

    return db.session.get_one(User, application.applicant_id).email
