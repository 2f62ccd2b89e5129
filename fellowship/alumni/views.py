"""Alumni pages: the follow-up survey through the emailed link, and the alumnus's own career page."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from fellowship.alumni import bp, survey
from fellowship.alumni import tasks as _tasks  # noqa: F401 - registers the Celery task with the app
from fellowship.alumni.followups import period_label
from fellowship.alumni.models import FollowUpStatus
from fellowship.alumni.survey_forms import CareerForm, DirectoryConsentForm, SurveyForm
from fellowship.extensions import db, limiter
from fellowship.fellows.models import Fellow
from fellowship.pagination import paginate


def _link_problem(exc: survey.FollowUpLinkProblem) -> tuple[str, int]:
    used = str(exc) == _(survey.LINK_USED)
    heading = _("Already answered") if used else _("This link cannot be used")
    for_someone_else = isinstance(exc, survey.FollowUpLinkForSomeoneElse)
    return render_template("alumni/survey_problem.html", message=str(exc), used=used, heading=heading,
                           log_out_first=for_someone_else), 403 if for_someone_else else 400


def _visitor_id() -> int | None:
    return current_user.id if current_user.is_authenticated else None


def _survey_form(fellow: Fellow) -> SurveyForm:
    """The survey form; on first display filled with what we know (home country, current position, consent)."""
    form = SurveyForm()
    if not form.is_submitted():
        current = survey.current_career_entry(fellow.id)
        form.country_of_residence.data = form.country_of_work.data = fellow.home_country
        form.directory_consent.data = fellow.directory_opt_in
        if current is not None:
            form.position.data, form.organisation.data = current.position, current.organisation
            form.sector.data, form.country.data = current.sector.value, current.country
            form.environmental.data = "yes" if current.environmental else "no"
            form.leadership_level.data = current.leadership_level.value
    return form


@bp.route("/follow-up/<token>", methods=["GET", "POST"])
@limiter.limit("30 per minute", methods=["GET"])
@limiter.limit("10 per minute", methods=["POST"])
def follow_up_survey(token: str):
    try:
        follow_up = survey.follow_up_for_token(token, _visitor_id())
    except survey.FollowUpLinkProblem as exc:
        return _link_problem(exc)
    form = _survey_form(db.session.get_one(Fellow, follow_up.fellow_id))
    if form.validate_on_submit():
        try:
            survey.submit_follow_up(token, form.answer(), visitor_id=_visitor_id())
        except survey.FollowUpLinkProblem as exc:
            db.session.rollback()
            return _link_problem(exc)
        db.session.commit()
        return redirect(url_for("alumni.follow_up_thanks"))
    return render_template("alumni/survey.html", form=form, period=period_label(follow_up.months_after_return))


# --- My surveys: the same survey, answered while logged in -------------------------------------------------------

@bp.route("/alumni/surveys")
@login_required
def my_surveys():
    fellow = _alumnus_or_404()
    waiting = survey.waiting_follow_ups(current_user.id)
    return render_template("alumni/my_surveys.html", fellow=fellow, waiting=waiting, period_label=period_label)


@bp.route("/alumni/surveys/<int:follow_up_id>", methods=["GET", "POST"])
@login_required
@limiter.limit("10 per minute", methods=["POST"])
def answer_survey(follow_up_id: int):
    follow_up = survey.own_follow_up(follow_up_id, current_user.id)
    if follow_up is None:  # someone else's, not sent yet, or no such follow-up
        abort(404)
    if follow_up.status is FollowUpStatus.COMPLETED:
        flash(_(survey.LINK_USED), "info")
        return redirect(url_for("alumni.my_surveys"))
    form = _survey_form(db.session.get_one(Fellow, follow_up.fellow_id))
    if form.validate_on_submit():
        try:
            survey.submit_own_follow_up(follow_up, form.answer())
        except survey.FollowUpLinkProblem as exc:  # answered meanwhile (another tab, or the emailed link)
            db.session.rollback()
            flash(str(exc), "info")
            return redirect(url_for("alumni.my_surveys"))
        db.session.commit()
        flash(_("Thank you: your answers are saved."), "success")
        return redirect(url_for("alumni.my_surveys"))
    return render_template("alumni/survey.html", form=form, period=period_label(follow_up.months_after_return),
                           in_app=True)


@bp.route("/follow-up/thanks")
def follow_up_thanks():
    return render_template("alumni/survey_thanks.html")


def _alumnus_or_404() -> Fellow:
    fellow = survey.alumnus_for_user(current_user)
    if fellow is None:
        abort(404)
    return fellow


@bp.route("/alumni/career", methods=["GET", "POST"])
@login_required
@limiter.limit("30 per hour", methods=["POST"])
def career():
    fellow = _alumnus_or_404()
    form = CareerForm()
    if form.validate_on_submit():
        entry = survey.add_career_entry(fellow, form.career())
        db.session.commit()
        flash(_("Your current position is saved.") if entry
              else _("That is already your current position; nothing changed."), "success" if entry else "info")
        return redirect(url_for("alumni.career"))
    consent_form = DirectoryConsentForm(directory_consent=fellow.directory_opt_in)
    return render_template("alumni/career.html", form=form, consent_form=consent_form, fellow=fellow,
                           page=paginate(survey.career_entries(fellow.id), scalars=True))


@bp.route("/alumni/career/directory", methods=["POST"])
@login_required
def directory_consent():
    fellow = _alumnus_or_404()
    form = DirectoryConsentForm()
    if not form.validate_on_submit():
        abort(400)
    consent = bool(form.directory_consent.data)
    survey.set_directory_consent(fellow, consent)
    db.session.commit()
    flash(_("You are listed in the alumni directory.") if consent
          else _("You are no longer listed in the alumni directory."), "success")
    return redirect(url_for("alumni.career"))
