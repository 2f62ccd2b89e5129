"""Staff pages of a call's stages: configure them and their weights, advance at a shortlist, send its outcome."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import BooleanField, DateTimeLocalField, IntegerField, SelectField, StringField, SubmitField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from fellowship.applications.permissions import get_application_or_404
from fellowship.auth.permissions import roles_required
from fellowship.calls.models import Call
from fellowship.errors import DomainError
from fellowship.extensions import db
from fellowship.forms import FellowshipForm
from fellowship.pagination import Page, paginate, requested_page
from fellowship.selection import bp, stages
from fellowship.selection.models import SelectionStage, StageKind
from fellowship.selection.ranking_views import STAFF_ROLES, get_call_or_404
from fellowship.timezones import local_to_utc, utc_to_local

ADJUST_CHOICES = [("include", _l("Advance (include)")), ("exclude", _l("Do not advance (exclude)")),
                  ("clear", _l("Clear the adjustment"))]


class StageForm(FellowshipForm):
    """A stage's settings; which of them count depends on its kind (the page says so beside each)."""

    kind = SelectField(_l("Kind"), choices=StageKind.lazy_choices(), validators=[InputRequired()])
    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=120)])
    weight = IntegerField(_l("Weight in the final score (%(unit)s)", unit="%"), default=0,
                          validators=[NumberRange(0, 100)],
                          description=_l("Review rounds and interviews; a shortlist gives no score (0)."))
    reviewers_per_application = IntegerField(
        _l("Reviewers or interviewers per application"), validators=[Optional(), NumberRange(1, 20)],
        description=_l("Later review rounds and interviews (the first review round uses the call's setting)."))
    due_at = DateTimeLocalField(_l("Due (programme time)"), format="%Y-%m-%dT%H:%M", validators=[Optional()])
    blind = BooleanField(_l("Blind (reviewers do not see the applicant's name)"))
    advance_count = IntegerField(_l("Candidates who advance"), validators=[Optional(), NumberRange(0, 100000)],
                                 description=_l("Shortlist: how many go on to the next stage."))
    advance_by_quota = BooleanField(_l("Apply the call's regional quotas to those who advance"))
    submit = SubmitField(_l("Save the stage"))


class ReferencesForm(FellowshipForm):
    references_at_shortlist = BooleanField(_l("Ask for references only from shortlisted candidates' referees"))
    submit = SubmitField(_l("Save"))


class ConfirmForm(FellowshipForm):
    submit = SubmitField(_l("Confirm"))


class StageAdjustForm(FellowshipForm):
    """The chair advances or holds back one candidate at a shortlist, with a reason."""

    action = SelectField(_l("Adjustment"), choices=ADJUST_CHOICES)
    reason = StringField(_l("Reason"), validators=[InputRequired(), Length(max=stages.MAX_REASON_LENGTH)])
    submit = SubmitField(_l("Adjust"))


def weights_form(scored: list[SelectionStage], formdata: Any = None) -> FellowshipForm:
    """One weight field per scored stage (their number varies per call)."""

    class WeightsForm(FellowshipForm):
        submit = SubmitField(_l("Save the weights"))

    for stage in scored:
        setattr(WeightsForm, f"weight_{stage.id}",
                IntegerField(_l("%(stage)s (%%)", stage=stage.name), default=stage.weight,
                             validators=[InputRequired(), NumberRange(0, 100)]))
    return WeightsForm(formdata=formdata)


def _settings(call: Call, form: StageForm) -> stages.StageSettings:
    due = local_to_utc(form.due_at.data, call.time_zone) if form.due_at.data else None
    return stages.StageSettings(
        kind=StageKind(form.kind.data), name=form.name.data or "", weight=form.weight.data or 0,
        reviewers_per_application=form.reviewers_per_application.data, due_at=due, blind=bool(form.blind.data),
        advance_count=form.advance_count.data, advance_by_quota=bool(form.advance_by_quota.data))


def _stage_or_404(call: Call, stage_id: int) -> SelectionStage:
    stage = stages.get_stage(call.id, stage_id)
    if stage is None:
        abort(404)
    return stage


def _render_stages(call: Call, form: StageForm | None = None, weights: FellowshipForm | None = None,
                   references: ReferencesForm | None = None) -> str:
    all_stages = stages.stages_of(call.id)
    scored = [s for s in all_stages if s.scored]
    return render_template(
        "selection/stages.html", call=call, stages=all_stages, first_review=stages.first_review_stage(all_stages),
        form=form or StageForm(formdata=None), weights=weights or weights_form(scored, None),
        scored=scored, references=references or ReferencesForm(
            formdata=None, references_at_shortlist=call.references_at_shortlist),
        locked=stages.configurable_reason(call))


@bp.route("/staff/calls/<int:call_id>/stages", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def call_stages(call_id: int):
    """The call's stages in order, with a form to add one (before the call closes)."""
    call = get_call_or_404(call_id, with_quotas=False)
    if request.method == "GET":
        if not stages.stages_of(call.id):
            stages.ensure_stages(call)  # a call made before stages: show its one review round
            db.session.commit()
        return _render_stages(call)
    form = StageForm()
    if form.validate_on_submit():
        try:
            stage = stages.add_stage(call, _settings(call, form), current_user)
        except DomainError as exc:
            form.name.errors = [*form.name.errors, str(exc)]
        else:
            db.session.commit()
            flash(_("Stage %(name)s added.", name=stage.name), "success")
            return redirect(url_for("selection.call_stages", call_id=call.id))
    return _render_stages(call, form=form), 422


@bp.route("/staff/calls/<int:call_id>/stages/weights", methods=["POST"])
@roles_required(*STAFF_ROLES)
def stage_weights(call_id: int):
    call = get_call_or_404(call_id, with_quotas=False)
    scored = [s for s in stages.stages_of(call.id) if s.scored]
    form = weights_form(scored, request.form)
    if form.validate_on_submit():
        try:
            stages.set_weights(call, {s.id: form[f"weight_{s.id}"].data for s in scored}, current_user)
        except DomainError as exc:
            if scored:
                field = form[f"weight_{scored[0].id}"]
                field.errors = [*field.errors, str(exc)]
        else:
            db.session.commit()
            flash(_("Weights saved."), "success")
            return redirect(url_for("selection.call_stages", call_id=call.id))
    return _render_stages(call, weights=form), 422


@bp.route("/staff/calls/<int:call_id>/stages/references", methods=["POST"])
@roles_required(*STAFF_ROLES)
def stage_references(call_id: int):
    call = get_call_or_404(call_id, with_quotas=False)
    form = ReferencesForm()
    if form.validate_on_submit():
        try:
            stages.set_references_at_shortlist(call, bool(form.references_at_shortlist.data), current_user)
        except DomainError as exc:
            form.references_at_shortlist.errors = [str(exc)]
        else:
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("selection.call_stages", call_id=call.id))
    return _render_stages(call, references=form), 422


@bp.route("/staff/calls/<int:call_id>/stages/<int:stage_id>/edit", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def edit_stage(call_id: int, stage_id: int):
    call = get_call_or_404(call_id, with_quotas=False)
    stage = _stage_or_404(call, stage_id)
    form = StageForm(obj=stage) if request.method == "GET" else StageForm()
    if request.method == "GET":
        form.kind.data = stage.kind.value
        form.due_at.data = utc_to_local(stage.due_at, call.time_zone).replace(tzinfo=None) if stage.due_at else None
    elif form.validate_on_submit():
        try:
            stages.update_stage(call, stage, _settings(call, form), current_user)
        except DomainError as exc:
            form.name.errors = [*form.name.errors, str(exc)]
        else:
            db.session.commit()
            flash(_("Stage %(name)s saved.", name=stage.name), "success")
            return redirect(url_for("selection.call_stages", call_id=call.id))
    return render_template("selection/stage_edit.html", call=call, stage=stage, form=form,
                           remove=ConfirmForm(formdata=None), locked=stages.configurable_reason(call),
                           first_review=stages.first_review_stage(stages.stages_of(call.id)))


@bp.route("/staff/calls/<int:call_id>/stages/<int:stage_id>/remove", methods=["POST"])
@roles_required(*STAFF_ROLES)
def remove_stage(call_id: int, stage_id: int):
    call = get_call_or_404(call_id, with_quotas=False)
    stage = _stage_or_404(call, stage_id)
    if ConfirmForm().validate_on_submit():
        try:
            stages.remove_stage(call, stage, current_user)
        except DomainError as exc:
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("Stage removed."), "success")
    return redirect(url_for("selection.call_stages", call_id=call.id))


def _page_of(items: list[Any], page: int, per_page: int) -> Page:
    return Page(items=items[(page - 1) * per_page: page * per_page], page=page, per_page=per_page, total=len(items))


def _render_shortlist(call: Call, stage: SelectionStage, *, confirming: bool = False,
                      failed: StageAdjustForm | None = None, failed_id: int | None = None) -> str:
    """The shortlist's page: the proposed cut (with the chair's adjustments) or, once confirmed, its results."""
    page, per_page = requested_page()
    cut = error = None
    advanced = not_advanced = None
    if stage.advanced_at is None:
        try:
            cut = stages.propose_cut(call, stage)
        except DomainError as exc:
            error = str(exc)
    else:
        advanced = paginate(stages.results_of(stage, True), page, per_page)
        not_advanced = paginate(stages.results_of(stage, False), page, per_page)
    return render_template(
        "selection/shortlist.html", call=call, stage=stage, cut=cut, error=error, confirming=confirming,
        advancing=_page_of(cut.advancing, page, per_page) if cut else None,
        holding=_page_of(cut.not_advancing, page, per_page) if cut else None,
        advanced=advanced, not_advanced=not_advanced, confirm=ConfirmForm(formdata=None),
        adjust=failed or StageAdjustForm(formdata=None), failed_id=failed_id,
        adjusting=failed_id if failed else request.args.get("adjust", type=int))


@bp.route("/staff/calls/<int:call_id>/stages/<int:stage_id>")
@roles_required(*STAFF_ROLES)
def shortlist(call_id: int, stage_id: int):
    call = get_call_or_404(call_id)
    stage = _stage_or_404(call, stage_id)
    if stage.kind is not StageKind.SHORTLIST:
        from fellowship.selection.review_rounds import is_later_round

        if is_later_round(stage):  # its panel, rubric and assignments
            return redirect(url_for("selection.review_round", call_id=call.id, round_id=stage.id))
        return redirect(url_for("selection.edit_stage", call_id=call.id, stage_id=stage.id))
    return _render_shortlist(call, stage)


@bp.route("/staff/calls/<int:call_id>/stages/<int:stage_id>/adjust/<int:application_id>", methods=["POST"])
@roles_required(*STAFF_ROLES)
def adjust_at_shortlist(call_id: int, stage_id: int, application_id: int):
    call = get_call_or_404(call_id)
    stage = _stage_or_404(call, stage_id)
    application = get_application_or_404(application_id)
    if application.call_id != call.id:
        abort(404)
    form = StageAdjustForm()
    if form.validate_on_submit():
        try:
            stages.adjust_at_stage(call, stage, application, form.action.data or "", form.reason.data or "",
                                   current_user)
        except DomainError as exc:
            form.reason.errors = [*form.reason.errors, str(exc)]
        else:
            db.session.commit()
            flash(_("%(reference)s adjusted at the shortlist.", reference=application.reference), "success")
            return redirect(url_for("selection.shortlist", call_id=call.id, stage_id=stage.id))
    return _render_shortlist(call, stage, failed=form, failed_id=application.id), 422


@bp.route("/staff/calls/<int:call_id>/stages/<int:stage_id>/confirm", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def confirm_shortlist(call_id: int, stage_id: int):
    """A confirmation page listing who advances and who does not; POST fixes the cut."""
    call = get_call_or_404(call_id)
    stage = _stage_or_404(call, stage_id)
    if stage.kind is not StageKind.SHORTLIST:
        abort(404)
    if request.method == "POST" and ConfirmForm().validate_on_submit():
        try:
            cut = stages.confirm_advancing(call, stage, current_user)
        except DomainError as exc:
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("Shortlist confirmed: %(advanced)d advance, %(held)d do not. Nobody has been emailed yet.",
                    advanced=len(cut.advancing), held=len(cut.not_advancing)), "success")
        return redirect(url_for("selection.shortlist", call_id=call.id, stage_id=stage.id))
    return _render_shortlist(call, stage, confirming=True)


@bp.route("/staff/calls/<int:call_id>/stages/<int:stage_id>/outcome", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def send_shortlist_outcome(call_id: int, stage_id: int):
    """A confirmation page saying who will be emailed "not shortlisted"; POST queues those emails, once each."""
    call = get_call_or_404(call_id, with_quotas=False)
    stage = _stage_or_404(call, stage_id)
    if stage.kind is not StageKind.SHORTLIST:
        abort(404)
    if request.method == "POST" and ConfirmForm().validate_on_submit():
        try:
            queued = stages.send_outcome(call, stage, current_user)
        except DomainError as exc:
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("Outcome sent: %(n)d not-shortlisted emails queued.", n=queued), "success")
        return redirect(url_for("selection.shortlist", call_id=call.id, stage_id=stage.id))
    pending = stages.pending_outcome_count(stage)
    return render_template("selection/shortlist_outcome.html", call=call, stage=stage, pending=pending,
                           form=ConfirmForm(formdata=None))
