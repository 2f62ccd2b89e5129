"""Decision pages: record, confirm and send decisions (staff); answer an offer (the applicant)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms import IntegerField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from fellowship.applications.models import Application
from fellowship.applications.permissions import get_application_or_404
from fellowship.auth.models import Role
from fellowship.auth.permissions import roles_required
from fellowship.calls.models import Call
from fellowship.errors import DomainError
from fellowship.extensions import db
from fellowship.forms import FellowshipForm
from fellowship.pagination import paginate
from fellowship.selection import bp, decisions
from fellowship.selection.models import Decision, DecisionOutcome, Offer, OfferStatus

STAFF = (Role.STAFF, Role.ADMIN)


class DecisionForm(FellowshipForm):
    outcome = SelectField(_l("Decision"), choices=DecisionOutcome.lazy_choices(),
                          validators=[DataRequired()])
    reason = TextAreaField(_l("Reason (recorded; not sent to the applicant)"),
                           validators=[DataRequired(message=_l("Give a reason.")), Length(max=2000)])


class FromProposalForm(FellowshipForm):
    waitlist_size = IntegerField(_l("How many to waitlist (by rank)"), default=5,
                                 validators=[NumberRange(min=0, max=1000)])


@bp.route("/staff/calls/<int:call_id>/decisions")
@roles_required(*STAFF)
def call_decisions(call_id: int):
    call = db.get_or_404(Call, call_id)
    stmt = (select(Decision.id, Decision.outcome, Decision.reason, Decision.reason_message, Decision.waitlist_position,
                   Decision.sent_at,
                   Application.id.label("application_id"), Application.reference, Application.given_name,
                   Application.family_name, Application.region, Offer.status.label("offer_status"),
                   Offer.expires_at.label("offer_expires_at"), Offer.decline_reason)
            .join(Application, Application.id == Decision.application_id)
            .outerjoin(Offer, Offer.application_id == Decision.application_id)
            .where(Decision.call_id == call.id).order_by(Decision.outcome, Decision.waitlist_position, Decision.id))
    form = FromProposalForm(formdata=None)
    form.waitlist_size.data = call.places
    return render_template("selection/decisions.html", call=call, page=paginate(stmt),
                           summary=decisions.decision_summary(call.id), form=form, send_form=FellowshipForm(),
                           undecided=decisions.undecided(call),
                           outcome_label=lambda value: DecisionOutcome(value).label)


@bp.route("/staff/calls/<int:call_id>/decisions/from-proposal", methods=["GET", "POST"])
@roles_required(*STAFF)
def decisions_from_proposal(call_id: int):
    """What recording from the proposal will do, who is left undecided and why (GET); the recording (POST)."""
    call = db.get_or_404(Call, call_id)
    if request.method == "POST":
        form = FromProposalForm()
        if not form.validate_on_submit():
            abort(400)
        try:
            done = decisions.record_from_proposal(call, current_user, form.waitlist_size.data or 0)
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            sentences = [ngettext("%(num)d decision recorded from the proposal.",
                                  "%(num)d decisions recorded from the proposal.", done.recorded)]
            if done.needs_reviews:
                sentences.append(ngettext("%(num)d application not decided: it needs reviews; decide each one below.",
                                          "%(num)d applications not decided: they need reviews; decide each one "
                                          "below.", len(done.needs_reviews)))
            sentences.append(_("Check them, then confirm sending."))
            flash(" ".join(sentences), "success")
        return redirect(url_for("selection.call_decisions", call_id=call.id))
    asked = FromProposalForm(request.args, meta={"csrf": False})
    size = asked.waitlist_size.data if asked.validate() and asked.waitlist_size.data is not None else call.places
    plan = decisions.plan_from_proposal(call, size)
    rows = {a.id: a for a in db.session.scalars(select(Application).where(  # the places and the waitlist: few
        Application.id.in_(plan.selected + plan.waitlist)))}
    return render_template("selection/decisions_from_proposal.html", call=call, plan=plan, rows=rows,
                           form=FromProposalForm(formdata=None, waitlist_size=size))


@bp.route("/staff/applications/<int:application_id>/decision", methods=["GET", "POST"])
@roles_required(*STAFF)
def application_decision(application_id: int):
    application = db.get_or_404(Application, application_id)
    existing = db.session.scalar(select(Decision).where(Decision.application_id == application.id))
    form = DecisionForm(obj=existing)
    if request.method == "GET" and existing is not None:
        form.outcome.data = existing.outcome.value
    if form.validate_on_submit():
        try:
            decisions.record_decision(application, DecisionOutcome(form.outcome.data), form.reason.data or "",
                                      current_user)
        except DomainError as exc:
            form.reason.errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Decision recorded for %(application)s. It is sent when you confirm.",
                    application=application.reference), "success")
            return redirect(url_for("selection.call_decisions", call_id=application.call_id))
    return render_template("selection/decision_form.html", application=application, form=form, existing=existing)


@bp.route("/staff/calls/<int:call_id>/decisions/send", methods=["GET", "POST"])
@roles_required(*STAFF)
def send_decisions(call_id: int):
    call = db.get_or_404(Call, call_id)
    form = FellowshipForm()
    summary = decisions.decision_summary(call.id)
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        batch_key, queued = decisions.send_decisions(call, current_user)
        db.session.commit()
        flash(ngettext("%(num)d decision email is queued.", "%(num)d decision emails are queued.", queued), "success")
        return redirect(url_for("selection.decision_progress", call_id=call.id, batch_key=batch_key))
    return render_template("selection/decision_confirm.html", call=call, summary=summary, form=form)


@bp.route("/staff/calls/<int:call_id>/decisions/progress/<batch_key>")
@roles_required(*STAFF)
def decision_progress(call_id: int, batch_key: str):
    call = db.get_or_404(Call, call_id)
    progress = decisions.batch_progress(batch_key)
    if not progress["total"]:
        abort(404)
    return render_template("selection/decision_progress.html", call=call, progress=progress, batch_key=batch_key)


class OfferAnswerForm(FellowshipForm):
    """The confirmation page of an answer to an offer; a decline may say why (optional, kept with the offer)."""

    reason = TextAreaField(_l("Why are you declining? (optional)"), validators=[Optional(), Length(max=2000)],
                           description=_l("This helps the programme; it does not change anything for you."))


@bp.route("/applications/<int:application_id>/offer/<answer>", methods=["GET", "POST"])
@login_required
def answer_offer(application_id: int, answer: str):
    """A confirmation page saying what the answer means (GET); the answer itself (POST)."""
    if answer not in ("accept", "decline"):
        abort(404)
    application = get_application_or_404(application_id, owner_only=True)
    offer = decisions.offer_for(application.id)
    if offer is None:
        abort(404)
    form = OfferAnswerForm()
    if form.validate_on_submit():
        try:
            decisions.respond_to_offer(application, accept=answer == "accept",
                                       decline_reason="" if answer == "accept" else form.reason.data or "")
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("You accepted the offer. Welcome to the fellowship!") if answer == "accept"
                  else _("You declined the offer. Thank you for letting us know."), "success")
        return redirect(url_for("applications.overview", application_id=application.id))
    if request.method == "POST" and "csrf_token" in form.errors:
        abort(400)
    if offer.status is not OfferStatus.PENDING and request.method == "GET":
        return redirect(url_for("applications.overview", application_id=application.id))
    return render_template("selection/offer_answer.html", application=application, offer=offer, form=form,
                           answer=answer)
