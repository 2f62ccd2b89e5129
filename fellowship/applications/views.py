"""Applicant pages: my applications, the overview with progress, one page per section, review and submit,
withdraw."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from fellowship.applications import answers, bp, services
from fellowship.applications.declarations import DECLARATIONS
from fellowship.applications.forms import DeclarationForm
from fellowship.applications.models import Application
from fellowship.applications.permissions import get_application_or_404
from fellowship.applications.review import review_of
from fellowship.auth.models import Role
from fellowship.documents.storage import get_storage
from fellowship.errors import DomainError
from fellowship.extensions import db, limiter
from fellowship.forms import FellowshipForm
from fellowship.i18n.texts import current_locale
from fellowship.questions.forms import SectionForm, section_form
from fellowship.questions.models import QuestionnaireSection


@bp.route("/")
@login_required
def mine():
    return render_template("applications/mine.html", applications=services.applicant_applications(current_user.id))


@bp.route("/<int:application_id>")
@login_required
def overview(application_id: int):
    application = get_application_or_404(application_id, owner_only=True)
    from fellowship.eligibility.services import unmet_rules
    from fellowship.selection.decisions import offer_for

    return render_template("applications/overview.html", application=application,
                           progress=services.progress(application), form=FellowshipForm(),
                           editable=_editable(application), offer=offer_for(application.id),
                           unmet_rules=unmet_rules(application))


def _editable(application: Application) -> bool:
    try:
        services.ensure_editable(application)
    except DomainError:
        return False
    return True


@bp.route("/<int:application_id>/sections/<name>", methods=["GET", "POST"])
@login_required
def section(application_id: int, name: str):
    """One section of the call's form: saving keeps every well-formed answer (a draft may be partial), shows the
    refused ones beside their fields with what was typed, and re-renders so questions shown by a condition appear."""
    # A save locks the application's row as it loads it, before its answers are read: a save and a submit of the
    # same application take turns, and the save reads nothing twice (make bench-surge).
    application = get_application_or_404(application_id, owner_only=True, for_update=request.method == "POST")
    questionnaire = answers.form_of(application)
    current = answers.section_of(questionnaire, name) or abort(404)
    given = answers.answers_of(application)
    form = section_form(current, given, current_locale())
    if request.method == "GET":
        missing = answers.section_missing(application, current, given)
        return _render_section(application, current, form, missing, _editable(application))
    if not form.validate_on_submit() and "csrf_token" in form.errors:
        abort(400)
    if form.entries_changed:  # "Add another entry" or "Remove" of a repeatable group: nothing saved yet
        return _render_section(application, current, form, {}, True)
    # A value the field could not even read (a date that is no date) keeps the stored answer and is reported.
    unreadable = {key: errors[0] for key, errors in form.errors.items()
                  if key in form.stored and errors and isinstance(errors[0], str)}
    try:
        saved = services.save_section(application, current,
                                      {k: v for k, v in form.values().items() if k not in unreadable}, locked=True)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return _render_section(application, current, form, {}, False, 409)
    # Read before the commit expires them: afterwards each would cost a reload (the section, the form's sections
    # and the application with its call), a third of a save's statements (make bench-surge).
    title, keys = current.title.get_for(current_locale()), [s.key for s in questionnaire.sections]
    db.session.commit()
    if saved.errors or unreadable:
        flash(_("Saved what was well-formed. Correct the answers marked below; they were not saved."), "error")
        # The page again with what was typed: the refused answers beside their fields, the others as saved.
        form = section_form(current, answers.answers_of(application), current_locale(), formdata=request.form)
        form.validate()  # the unreadable values' messages again, and an oversized text cut to what fits
        form.apply_result(answers.engine().SaveResult(errors=saved.errors))
        return _render_section(application, current, form, saved.missing, True)
    if saved.missing:
        flash(_("Saved. Some answers are still needed before you can submit; they are marked below."), "info")
    else:
        flash(_("%(section)s: saved and complete.", section=title), "success")
    if "save_and_next" in request.form:
        following = keys[keys.index(name) + 1:]
        target = (url_for("applications.section", application_id=application_id, name=following[0])
                  if following else url_for("documents.index", application_id=application_id))
        return redirect(target)
    return redirect(url_for("applications.section", application_id=application_id, name=name))


@bp.route("/<int:application_id>/answers/<key>")
@bp.route("/<int:application_id>/answers/<key>/<int:entry>/<sub>")
@login_required
def answer_file(application_id: int, key: str, entry: int | None = None, sub: str | None = None):
    """A file given as an answer, for whoever may read the application: the applicant, staff, an assigned reviewer
    (in a blind review, not the file of a personal-data question)."""
    application = get_application_or_404(application_id)
    blind_reader = (application.call.blind_review and application.applicant_id != current_user.id
                    and not current_user.has_role(Role.STAFF, Role.ADMIN))
    stored = answers.file_answer(application, key, entry, sub, hide_personal=blind_reader) or abort(404)
    try:
        stream = get_storage().open(stored["key"])
    except FileNotFoundError:
        abort(404)
    response = send_file(stream, mimetype=stored.get("content_type") or "application/octet-stream",
                         as_attachment=True, download_name=stored.get("filename") or key, etag=False,
                         conditional=False)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; base-uri 'none'; frame-ancestors 'none'; sandbox"
    return response


def _render_section(application: Application, section: QuestionnaireSection, form: SectionForm,
                    missing: dict[str, str], editable: bool, status: int = 200) -> tuple[str, int]:
    return render_template("applications/section.html", application=application, section=section, form=form,
                           missing=missing, editable=editable), status


def _render_review(application: Application, form: DeclarationForm, status: int = 200) -> tuple[str, int]:
    return render_template("applications/review.html", application=application, review=review_of(application),
                           form=form, declarations=DECLARATIONS), status


@bp.route("/<int:application_id>/review")
@login_required
def review(application_id: int):
    """Review and declare: every section, document and referee, what is missing, then the declarations."""
    application = get_application_or_404(application_id, owner_only=True)
    if not _editable(application):
        return redirect(url_for("applications.overview", application_id=application.id))
    return _render_review(application, DeclarationForm())


@bp.route("/<int:application_id>/submit", methods=["POST"])
@login_required
@limiter.limit("10 per minute")
def submit(application_id: int):
    """The review page's form: refused beside the checkboxes unless every declaration is ticked."""
    application = get_application_or_404(application_id, owner_only=True)
    form = DeclarationForm()
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            abort(400)
        return _render_review(application, form, 400)
    try:
        reference = services.submit_application(application, declarations=form.ticked()).reference
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("applications.review", application_id=application_id))
    db.session.commit()  # the reference was read before: after the commit it would be read again
    flash(_("Your application is submitted. Your reference number is %(reference)s. We have emailed you a "
            "confirmation.", reference=reference), "success")
    return redirect(url_for("applications.overview", application_id=application_id))


@bp.route("/<int:application_id>/withdraw", methods=["GET", "POST"])
@login_required
def withdraw(application_id: int):
    application = get_application_or_404(application_id, owner_only=True)
    form = FellowshipForm()
    if form.validate_on_submit():
        try:
            services.withdraw_application(application)
        except DomainError as exc:
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("Your application is withdrawn."), "success")
        return redirect(url_for("applications.overview", application_id=application.id))
    return render_template("applications/withdraw.html", application=application, form=form)
