"""Referee pages: the applicant's list and invitations, and the referee's public upload page."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from fellowship.applications.models import Application, Referee
from fellowship.applications.permissions import get_application_or_404
from fellowship.documents.forms import file_hint
from fellowship.documents.validation import max_document_bytes
from fellowship.documents.views import overview_url
from fellowship.errors import DomainError
from fellowship.extensions import db, limiter
from fellowship.forms import FellowshipForm
from fellowship.i18n import DEFAULT_LOCALE, LANGUAGE_NAMES
from fellowship.i18n.texts import current_locale
from fellowship.pagination import paginate
from fellowship.referees import bp, services
from fellowship.referees import tasks as _tasks  # noqa: F401 - registers the Celery task with the app
from fellowship.referees.forms import LetterForm, RefereeForm, RefereeLanguageForm


def _render_index(application: Application, form: RefereeForm) -> str:
    named, received = services.referee_summary(application)
    return render_template(
        "referees/index.html", application=application, form=form, named=named, received=received,
        language_form=RefereeLanguageForm,
        page=paginate(services.referees_for_application(application.id), scalars=True),
        add_locked=services.referees_locked_reason(application),
        remove_locked=services.referees_locked_reason(application, removing=True),
        limit=services.referee_limit(application.call), deadline=services.deadline_text(application.call),
        overview_url=overview_url(application.id),
    )


@bp.route("/applications/<int:application_id>/referees", methods=["GET", "POST"])
@login_required
@limiter.limit("20 per hour", methods=["POST"])
def index(application_id: int):
    application = get_application_or_404(application_id, owner_only=True)
    form = RefereeForm()
    if request.method == "GET":
        form.locale.data = current_locale() or DEFAULT_LOCALE  # the applicant's own language, until they choose
    if form.validate_on_submit():
        try:
            language = form.locale.data or current_locale() or DEFAULT_LOCALE  # unchosen: the applicant's own
            referee = services.add_referee(application, form.name.data or "", form.email.data or "",
                                           form.relation.data or "", language)
        except DomainError as exc:
            db.session.rollback()
            form.email.errors = [*form.email.errors, str(exc)]
        else:
            db.session.commit()
            flash(_("%(name)s is added; we have emailed them a link to upload the letter.", name=referee.name),
                  "success")
            return redirect(url_for("referees.index", application_id=application_id))
    return _render_index(application, form)


@bp.route("/applications/<int:application_id>/referees/<int:referee_id>/remove", methods=["GET", "POST"])
@login_required
def remove(application_id: int, referee_id: int):
    """A confirmation page naming the referee and what removing them does (GET); the removal (POST)."""
    application = get_application_or_404(application_id, owner_only=True)
    referee = db.session.get(Referee, referee_id)
    if referee is None or referee.application_id != application.id:
        abort(404)
    form = FellowshipForm()
    if request.method == "GET":
        return render_template("referees/confirm_remove.html", application=application, referee=referee, form=form)
    if not form.validate_on_submit():
        abort(400)
    name = referee.name
    try:
        services.remove_referee(referee)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(_("%(name)s is removed; their link no longer works.", name=name), "success")
    return redirect(url_for("referees.index", application_id=application_id))


@bp.route("/applications/<int:application_id>/referees/<int:referee_id>/language", methods=["POST"])
@login_required
def change_language(application_id: int, referee_id: int):
    """The applicant changes the language their referee is written to in."""
    application = get_application_or_404(application_id, owner_only=True)
    referee = db.session.get(Referee, referee_id)
    if referee is None or referee.application_id != application.id:
        abort(404)
    form = RefereeLanguageForm(prefix=f"referee-{referee.id}")
    if not form.validate_on_submit():
        flash(_("Choose a language from the list."), "error")
    else:
        services.change_referee_locale(referee, form.locale.data or "")
        db.session.commit()
        flash(_("We will write to %(name)s in %(language)s from now on.", name=referee.name,
                language=LANGUAGE_NAMES[referee.locale]), "success")
    return redirect(url_for("referees.index", application_id=application_id))


def _link_problem(exc: services.LetterLinkProblem) -> tuple[str, int]:
    used = str(exc) == _(services.LINK_USED)
    return render_template("referees/link_problem.html", message=str(exc), used=used,
                           heading=_("Letter already received") if used else _("This link cannot be used")), (
        403 if isinstance(exc, services.LetterLinkForTheReferee) else 400)


def _visitor_id() -> int | None:
    return current_user.id if current_user.is_authenticated else None


@bp.route("/referee/<token>", methods=["GET", "POST"])
@limiter.limit("30 per minute", methods=["GET"])
@limiter.limit("10 per minute", methods=["POST"])
def letter_upload(token: str):
    try:
        referee = services.referee_for_token(token, _visitor_id())
    except services.LetterLinkProblem as exc:
        return _link_problem(exc)
    form = LetterForm()
    form.file.description = file_hint(max_document_bytes())
    if form.validate_on_submit():
        try:
            services.receive_letter(token, form.file.data, _visitor_id())
        except services.LetterLinkProblem as exc:
            db.session.rollback()
            return _link_problem(exc)
        except DomainError as exc:
            db.session.rollback()
            form.file.errors = [*form.file.errors, str(exc)]
        else:
            db.session.commit()
            return redirect(url_for("referees.letter_thanks"))
    application = referee.application
    return render_template("referees/letter_upload.html", form=form, referee=referee,
                           applicant_name=application.display_name, call_title=application.call.title,
                           deadline=services.letter_due_text(referee, application))


@bp.route("/referee/thanks")
def letter_thanks():
    return render_template("referees/thanks.html")
