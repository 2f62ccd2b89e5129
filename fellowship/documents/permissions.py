"""Who may download a document; everybody else gets 404, as if it did not exist."""

from __future__ import annotations

from flask import abort
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from fellowship.applications.models import Document
from fellowship.applications.permissions import can_view_application
from fellowship.auth.models import Role, User
from fellowship.calls.models import DocumentKind
from fellowship.extensions import db


def can_view_document(user: User, document: Document) -> bool:
    """Those who may see the application (staff, assigned reviewers, the applicant); a reference letter
    never to the applicant."""
    if not can_view_application(user, document.application):
        return False
    if document.kind is DocumentKind.REFERENCE_LETTER:
        return document.application.applicant_id != user.id
    return True


def download_name(user: User, document: Document) -> str:
    """The uploader's file name, except for reviewers of a blind call, who get a name by kind only."""
    application = document.application
    blind_reader = (application.call.blind_review and application.applicant_id != user.id
                    and not user.has_role(Role.STAFF, Role.ADMIN))
    if blind_reader:
        extension = document.filename.rsplit(".", 1)[-1] if "." in document.filename else "bin"
        return f"{document.kind.value}.{extension}"
    return document.filename


def get_document_or_404(document_id: int) -> Document:
    """Load a document (with its application) the current user may see, else 404."""
    document = db.session.scalar(
        select(Document).options(joinedload(Document.application)).where(Document.id == document_id))
    if document is None or not can_view_document(current_user, document):
        abort(404)
    return document
