"""Documents of an application: store, replace and delete uploads, and what is still missing."""

from __future__ import annotations

import logging
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, select
from werkzeug.datastructures import FileStorage

from fellowship.applications.models import Application, ApplicationStatus, Document, Referee
from fellowship.audit.services import record
from fellowship.calls.models import DocumentKind
from fellowship.documents.cleanup import delete_after_commit as _after_commit
from fellowship.documents.cleanup import delete_after_rollback as _after_rollback
from fellowship.documents.storage import get_storage, new_key
from fellowship.documents.validation import ValidatedFile, validate_upload
from fellowship.errors import DomainError
from fellowship.extensions import db
from fellowship.locks import lock_row
from fellowship.models import utcnow

log = logging.getLogger(__name__)

#: Kinds an applicant uploads themself (a reference letter comes only from the referee).
APPLICANT_KINDS = tuple(k for k in DocumentKind if k is not DocumentKind.REFERENCE_LETTER)
#: Kinds held once per application: a new upload replaces the previous file.
SINGLE_KINDS = frozenset({DocumentKind.CV, DocumentKind.TRANSCRIPT, DocumentKind.PASSPORT})

DEADLINE_PASSED = _l("The deadline has passed; documents can no longer be changed.")
SUBMITTED = _l("This application has been submitted; documents can no longer be changed.")

def documents_locked_reason(application: Application) -> str | None:
    """Why the applicant can no longer change documents, or None while they can."""
    if utcnow() >= application.call.closes_at:
        return str(DEADLINE_PASSED)
    if application.status is not ApplicationStatus.DRAFT:
        return str(SUBMITTED)
    return None


def ensure_documents_editable(application: Application) -> None:
    """Applicants change documents only while the application is a draft, before the deadline."""
    reason = documents_locked_reason(application)
    if reason:
        raise DomainError(reason)


def store_document(application: Application, kind: DocumentKind, upload: FileStorage | None, *,
                   referee: Referee | None = None) -> Document:
    """Validate an upload and keep it; a cv/transcript/passport replaces the previous one.

    The application's row is locked first: two uploads of one kind at once replace one another in turn, and an
    upload and a submit at the same moment cannot both go through."""
    lock_row(Application, application.id)
    db.session.refresh(application, ["status"])
    if kind is DocumentKind.REFERENCE_LETTER:
        if referee is None or referee.application_id != application.id:
            raise DomainError(_("A reference letter comes only from one of the application's referees."))
        if utcnow() >= application.call.closes_at:
            raise DomainError(_("The deadline for this application has passed."))
    else:
        if referee is not None:
            raise DomainError(_("A referee uploads only a reference letter."))
        ensure_documents_editable(application)
    return save_validated(application, kind, validate_upload(upload, kind), referee=referee)


def save_validated(application: Application, kind: DocumentKind, checked: ValidatedFile, *,
                   referee: Referee | None = None) -> Document:
    """Store an already validated file and its row; callers have checked who may upload it."""
    session = db.session()
    storage = get_storage()
    replaced: list[Document] = []
    if kind in SINGLE_KINDS:
        replaced = list(db.session.scalars(
            select(Document).where(Document.application_id == application.id, Document.kind == kind)))
    key = new_key()
    # Registered before the write: an object the store kept although the write reported a failure (a timeout
    # after the data arrived) goes too, since no row will refer to it. A StorageUnavailable from the save is a
    # DomainError for the caller to show; nothing has been written to the database yet.
    _after_rollback(session, storage, key)
    storage.save(key, checked.data)
    for old in replaced:
        _after_commit(session, storage, old.storage_key)
        db.session.delete(old)
    document = Document(application_id=application.id, kind=kind, referee_id=referee.id if referee else None,
                        filename=checked.filename, storage_key=key, content_type=checked.content_type,
                        size=checked.size, sha256=checked.sha256, uploaded_at=utcnow())
    db.session.add(document)
    db.session.flush()
    record("documents.uploaded", document, application_id=application.id, kind=kind.value,
           filename=checked.filename, size=checked.size, sha256=checked.sha256,
           replaced=[d.id for d in replaced], referee_id=referee.id if referee else None)
    return document


def delete_document(document: Document) -> None:
    """Remove an applicant's document while the application is a draft; the file goes after commit."""
    if document.kind is DocumentKind.REFERENCE_LETTER:
        raise DomainError(_("A reference letter cannot be removed by the applicant."))
    lock_row(Application, document.application_id)  # a submit at the same moment either came first or waits
    db.session.refresh(document.application, ["status"])
    ensure_documents_editable(document.application)
    _after_commit(db.session(), get_storage(), document.storage_key)
    record("documents.deleted", document, application_id=document.application_id, kind=document.kind.value,
           filename=document.filename)
    db.session.delete(document)
    db.session.flush()


def documents_for_applicant(application_id: int) -> Select[Document]:
    """The applicant's own documents (never reference letters), newest first, for paginate()."""
    return (select(Document)
            .where(Document.application_id == application_id, Document.kind.in_(APPLICANT_KINDS))
            .order_by(Document.kind, Document.id.desc()))


def required_kinds(application: Application) -> list[DocumentKind]:
    """The document kinds the application's call requires (an unknown one is logged and left out)."""
    required: list[DocumentKind] = []
    for value in application.call.required_documents or []:
        try:
            required.append(DocumentKind(value))
        except ValueError:
            log.warning("call %s requires unknown document kind %r", application.call_id, value)
    return required


def presence_columns(application_id: Any, kinds: list[DocumentKind]) -> list[Any]:
    """One column per kind, true when the application has such a document: for a caller's own SELECT
    (`application_id`: an id, or a bound parameter of a statement built once)."""
    return [select(Document.id).where(Document.application_id == application_id, Document.kind == kind)
            .exists().label(f"has_{kind.value}") for kind in kinds]


def document_status(application: Application) -> dict[DocumentKind, bool]:
    """Each document kind the call requires, and whether the application has one."""
    required = required_kinds(application)
    if not required:
        return {}
    present = db.session.execute(select(*presence_columns(application.id, required))).one()
    return {kind: bool(has) for kind, has in zip(required, present, strict=True)}
