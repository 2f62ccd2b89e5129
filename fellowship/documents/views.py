"""Document pages: the applicant's list and upload form, delete, and the guarded download."""

from __future__ import annotations

import logging

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.routing import BuildError

from fellowship.applications.models import Application, Document
from fellowship.applications.permissions import get_application_or_404
from fellowship.calls.models import DocumentKind
from fellowship.documents import bp, services
from fellowship.documents.forms import UploadForm, file_hint
from fellowship.documents.permissions import download_name, get_document_or_404
from fellowship.documents.storage import get_storage
from fellowship.documents.validation import max_document_bytes
from fellowship.errors import DomainError
from fellowship.extensions import db
from fellowship.forms import FellowshipForm
from fellowship.pagination import paginate
from fellowship.timezones import format_for_viewer

log = logging.getLogger(__name__)


def overview_url(application_id: int) -> str | None:
    """The application's overview page (the applications area's), if that page is there."""
    try:
        return url_for("applications.overview", application_id=application_id)
    except BuildError:
        return None


def _render_index(application: Application, form: UploadForm) -> str:
    page = paginate(services.documents_for_applicant(application.id), scalars=True)
    locked = services.documents_locked_reason(application)
    return render_template(
        "documents/index.html", application=application, form=form, page=page,
        required=services.document_status(application), editable=locked is None, locked_message=locked,
        deadline=format_for_viewer(application.call.closes_at, current_user, application.call.time_zone),
        overview_url=overview_url(application.id),
    )


@bp.route("/applications/<int:application_id>/documents", methods=["GET", "POST"])
@login_required
def index(application_id: int):
    application = get_application_or_404(application_id, owner_only=True)
    form = UploadForm()
    form.file.description = file_hint(max_document_bytes())
    if form.validate_on_submit():
        kind = DocumentKind(form.kind.data)
        try:
            document = services.store_document(application, kind, form.file.data)
        except DomainError as exc:
            db.session.rollback()
            form.file.errors = [*form.file.errors, str(exc)]
            return _render_index(application, form)
        db.session.commit()
        flash(_("%(kind)s uploaded: %(filename)s.", kind=kind.label, filename=document.filename), "success")
        return redirect(url_for("documents.index", application_id=application_id))
    return _render_index(application, form)


@bp.route("/applications/<int:application_id>/documents/<int:document_id>/delete", methods=["GET", "POST"])
@login_required
def delete(application_id: int, document_id: int):
    """A confirmation page naming the file (GET); the removal (POST)."""
    application = get_application_or_404(application_id, owner_only=True)
    document = db.session.get(Document, document_id)
    if (document is None or document.application_id != application.id
            or document.kind is DocumentKind.REFERENCE_LETTER):
        abort(404)
    form = FellowshipForm()
    if request.method == "GET":
        return render_template("documents/confirm_delete.html", application=application, document=document,
                               form=form)
    if not form.validate_on_submit():
        abort(400)
    name = document.filename
    try:
        services.delete_document(document)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(_("%(name)s was removed.", name=name), "success")
    return redirect(url_for("documents.index", application_id=application_id))


@bp.route("/documents/<int:document_id>")
@login_required
def download(document_id: int):
    document = get_document_or_404(document_id)
    try:
        stream = get_storage().open(document.storage_key)
    except FileNotFoundError:
        log.error("document %s has no stored file %s", document.id, document.storage_key)
        abort(404)
    log.info("document %s downloaded by user %s", document.id, current_user.id)
    response = send_file(stream, mimetype=document.content_type, as_attachment=True,
                         download_name=download_name(current_user, document), etag=False, conditional=False)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; base-uri 'none'; frame-ancestors 'none'; sandbox"
    return response
