"""Applicant pages: my applications, the overview with progress, one page per section, review and submit,
withdraw."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from fellowship.applications import bp, services
from fellowship.applications.declarations import DECLARATIONS
from fellowship.applications.forms import SECTION_FORMS, DeclarationForm
from fellowship.applications.models import Application
from fellowship.applications.permissions import get_application_or_404
from fellowship.applications.review import review_of
from fellowship.applications.sections import SECTIONS, SECTIONS_BY_NAME, word_count
from fellowship.errors import DomainError
from fellowship.extensions import db, limiter
from fellowship.forms import FellowshipForm


@bp.route("/")
@login_required
def mine():
    return render_template("applications/mine.html", applications=services.applicant_applications(current_user.id))


@bp.route("/<int:application_id>")
@login_required
def overview(application_id: int):
    application = get_application_or_404(application_id, owner_only=True)
    from fellowship.selection.decisions import offer_for

    return render_template("applications/overview.html", application=application,
                           progress=services.progress(application), form=FellowshipForm(),
                           editable=_editable(application), offer=offer_for(application.id))


def _editable(application: Application) -> bool:
    try:
        services.ensure_editable(application)
    except DomainError:
        return False
    return True


@bp.route("/<int:application_id>/sections/<name>", methods=["GET", "POST"])
@login_required
def section(application_id: int, name: str):
    application = get_application_or_404(application_id, owner_only=True)
    current = SECTIONS_BY_NAME.get(name) or abort(404)
    form_class = SECTION_FORMS[name]
    form = form_class(obj=application) if request.method == "GET" else form_class()
    if request.method == "GET":
        for field_name in current.fields:  # enum values into the selects
            value = getattr(application, field_name)
            if hasattr(value, "value"):
                getattr(form, field_name).data = value.value
    missing: dict[str, str] = {}
    if form.validate_on_submit():
        try:
            missing = services.save_section(application, current, {f: getattr(form, f).data for f in current.fields})
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return render_template("applications/section.html", application=application, section=current,
                                   form=form, missing={}, editable=False, word_count=word_count), 409
        db.session.commit()
        if missing:
            flash("Saved. Some answers are still needed before you can submit; they are marked below.", "info")
        else:
            flash(f"{current.title}: saved and complete.", "success")
        if form.save_and_next.data:
            following = SECTIONS[[s.name for s in SECTIONS].index(name) + 1:]
            target = (url_for("applications.section", application_id=application.id, name=following[0].name)
                      if following else url_for("documents.index", application_id=application.id))
            return redirect(target)
        return redirect(url_for("applications.section", application_id=application.id, name=name))
    if request.method == "GET":
        missing = current.missing(application)
    return render_template("applications/section.html", application=application, section=current, form=form,
                           missing=missing, editable=_editable(application), word_count=word_count)


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
        services.submit_application(application, declarations=form.ticked())
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("applications.review", application_id=application_id))
    db.session.commit()
    flash(f"Your application is submitted. Your reference number is {application.reference}. "
          "We have emailed you a confirmation.", "success")
    return redirect(url_for("applications.overview", application_id=application.id))


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
            flash("Your application is withdrawn.", "success")
        return redirect(url_for("applications.overview", application_id=application.id))
    return render_template("applications/withdraw.html", application=application, form=form)
