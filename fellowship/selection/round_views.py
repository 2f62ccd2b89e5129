"""Later review rounds' pages: staff set the round's panel and rubric and assign it; reviewers score it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from wtforms import DecimalField, EmailField, RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional, Regexp

from fellowship.applications.models import Application
from fellowship.applications.permissions import get_application_or_404
from fellowship.audit.services import record
from fellowship.auth.models import Role, User
from fellowship.auth.permissions import roles_required
from fellowship.calls.models import Call
from fellowship.errors import DomainError
from fellowship.extensions import db
from fellowship.forms import FellowshipForm
from fellowship.navigation import row_url
from fellowship.pagination import paginate
from fellowship.selection import assignment, bp, review_rounds, reviewing, round_changes
from fellowship.selection.models import ReviewStatus, SelectionStage, StageAssignment, StageCriterion, StageReview
from fellowship.selection.ranking_views import STAFF_ROLES, get_call_or_404
from fellowship.selection.stages import stage_criteria, stage_panel


class MemberForm(FellowshipForm):
    email = EmailField(_l("Reviewer's email"), validators=[InputRequired(), Length(max=254)])
    submit = SubmitField(_l("Add to the panel"))


class CriterionForm(FellowshipForm):
    name = StringField(_l("Criterion"), validators=[InputRequired(), Length(max=120)])
    weight = DecimalField(_l("Weight"), default=1, places=3, validators=[InputRequired(), NumberRange(min=0.001)])
    description = StringField(_l("Description (optional)"), validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("Add the criterion"))


class AssignForm(FellowshipForm):
    application = SelectField(_l("Candidate"), coerce=int, validators=[InputRequired()])
    reviewer = SelectField(_l("Reviewer"), coerce=int, validators=[InputRequired()])
    submit = SubmitField(_l("Assign"))


class AutoAssignForm(FellowshipForm):
    submit = SubmitField(_l("Assign automatically"))


class ReassignForm(FellowshipForm):
    #: Empty: whoever the round's balanced plan picks; else a panel member's id (the service checks the rest).
    reviewer = StringField(_l("Give it to"), validators=[Optional(), Regexp(r"^\d{1,12}$")])


class RoundReviewForm(FellowshipForm):
    comment = TextAreaField(_l("Comment"), validators=[Optional(), Length(max=review_rounds.MAX_COMMENT)],
                            description=_l("Your assessment for the panel: strengths, weaknesses, questions."))
    save_draft = SubmitField(_l("Save draft"))
    submit_review = SubmitField(_l("Submit review"))


def _field(criterion: StageCriterion) -> str:
    return f"score_{criterion.id}"


def _review_form(criteria: list[StageCriterion], review: StageReview | None) -> RoundReviewForm:
    fields = {_field(c): RadioField(c.name, choices=[(n, str(n)) for n in reviewing.SCORES], coerce=int,
                                    validators=[Optional()]) for c in criteria}
    form_class: Any = type("RoundRubricForm", (RoundReviewForm,), fields)
    if request.method == "POST" or review is None:
        return form_class()
    data: dict[str, Any] = {_field(c): (review.scores or {}).get(str(c.id)) for c in criteria}
    return form_class(data={**data, "comment": review.comment})


# --- Staff ----------------------------------------------------------------------------------------------------

def _assign_form(stage: SelectionStage, panel: list[User], formdata: Any = None) -> AssignForm:
    form = AssignForm(formdata=formdata)
    rows = db.session.execute(select(Application.id, Application.reference)
                              .where(Application.id.in_(review_rounds.candidates_query(stage).order_by(None)))
                              .order_by(Application.reference, Application.id)).all()
    form.application.choices = [(r.id, r.reference or _("Application %(id)d", id=r.id)) for r in rows]
    form.reviewer.choices = [(u.id, u.full_name) for u in panel]
    return form


def _render_round(call: Call, stage: SelectionStage, status: int = 200, **forms: Any) -> tuple[str, int]:
    panel = stage_panel(stage)
    page = paginate(review_rounds.round_rows(stage))
    return render_template(
        "selection/review_round.html", call=call, stage=stage, panel=panel, criteria=stage_criteria(stage),
        page=page, reviewers=review_rounds.reviewers_of(stage, [row.id for row in page.items]),
        k=review_rounds._k(stage, call), due=stage.due_at,
        member_form=forms.get("member_form") or MemberForm(formdata=None),
        criterion_form=forms.get("criterion_form") or CriterionForm(formdata=None),
        assign_form=forms.get("assign_form") or _assign_form(stage, panel),
        auto_form=AutoAssignForm(formdata=None), conflicted=_conflicts_on_page(page.items)), status


def _conflicts_on_page(rows: Sequence[Any]) -> set[tuple[int, int]]:
    """(candidate, reviewer) pairs with a conflict among the page's candidates: not offered in "Give it to"."""
    return assignment.conflicts_for([row.id for row in rows])


def _back(call: Call, stage: SelectionStage) -> Any:
    return redirect(url_for("selection.review_round", call_id=call.id, round_id=stage.id))


@bp.route("/staff/calls/<int:call_id>/rounds/<int:round_id>")
@roles_required(*STAFF_ROLES)
def review_round(call_id: int, round_id: int):
    """A later review round: its panel, rubric, candidates (those who advanced into it) and their reviewers."""
    call = get_call_or_404(call_id, with_quotas=False)
    return _render_round(call, review_rounds.later_round_or_404(call.id, round_id))


@bp.route("/staff/calls/<int:call_id>/rounds/<int:round_id>/panel", methods=["POST"])
@roles_required(*STAFF_ROLES)
def review_round_member(call_id: int, round_id: int):
    call = get_call_or_404(call_id, with_quotas=False)
    stage = review_rounds.later_round_or_404(call.id, round_id)
    form = MemberForm()
    if form.validate_on_submit():
        try:
            user = review_rounds.add_member(stage, form.email.data or "", current_user)
        except DomainError as exc:
            db.session.rollback()
            form.email.errors = [*form.email.errors, str(exc)]
        else:
            db.session.commit()
            flash(_("%(name)s joined the round's panel.", name=user.full_name), "success")
            return _back(call, stage)
    return _render_round(call, stage, 422, member_form=form)


@bp.route("/staff/calls/<int:call_id>/rounds/<int:round_id>/criteria", methods=["POST"])
@roles_required(*STAFF_ROLES)
def review_round_criterion(call_id: int, round_id: int):
    call = get_call_or_404(call_id, with_quotas=False)
    stage = review_rounds.later_round_or_404(call.id, round_id)
    form = CriterionForm()
    if form.validate_on_submit():
        try:
            review_rounds.add_criterion(stage, form.name.data or "", form.weight.data, form.description.data or "",
                                        current_user)
        except DomainError as exc:
            db.session.rollback()
            form.name.errors = [*form.name.errors, str(exc)]
        else:
            db.session.commit()
            flash(_("Criterion added to the round's rubric."), "success")
            return _back(call, stage)
    return _render_round(call, stage, 422, criterion_form=form)


@bp.route("/staff/calls/<int:call_id>/rounds/<int:round_id>/assign", methods=["POST"])
@roles_required(*STAFF_ROLES)
def review_round_assign(call_id: int, round_id: int):
    call = get_call_or_404(call_id, with_quotas=False)
    stage = review_rounds.later_round_or_404(call.id, round_id)
    form = _assign_form(stage, stage_panel(stage), request.form)
    if form.validate_on_submit():
        application = db.session.get_one(Application, form.application.data)
        reviewer = db.session.get_one(User, form.reviewer.data)
        try:
            review_rounds.assign(call, stage, application, reviewer, current_user)
        except DomainError as exc:
            db.session.rollback()
            form.reviewer.errors = [*form.reviewer.errors, str(exc)]
        else:
            db.session.commit()
            flash(_("%(name)s assigned.", name=reviewer.full_name), "success")
            return _back(call, stage)
    return _render_round(call, stage, 422, assign_form=form)


@bp.route("/staff/calls/<int:call_id>/rounds/<int:round_id>/auto-assign", methods=["POST"])
@roles_required(*STAFF_ROLES)
def review_round_auto_assign(call_id: int, round_id: int):
    call = get_call_or_404(call_id, with_quotas=False)
    stage = review_rounds.later_round_or_404(call.id, round_id)
    if AutoAssignForm().validate_on_submit():
        # Conflicts added since the last assignment (the rules, a declaration) give those candidates away first.
        round_changes.release_conflicted_later_rounds(call.id, current_user)
        plan = review_rounds.auto_assign(call, stage, current_user)
        db.session.commit()
        flash(_("%(num)d assignments made.", num=len(plan.pairs)), "success")
        if plan.shortfalls:
            flash(review_rounds.shortfall_text(plan), "error")
    return _back(call, stage)


def _round_assignment_or_404(stage: SelectionStage, assignment_id: int) -> StageAssignment:
    item = db.session.get(StageAssignment, assignment_id)
    if item is None or item.stage_id != stage.id:
        abort(404)
    return item


@bp.route("/staff/calls/<int:call_id>/rounds/<int:round_id>/assignments/<int:assignment_id>/unassign",
          methods=["POST"])
@roles_required(*STAFF_ROLES)
def review_round_unassign(call_id: int, round_id: int, assignment_id: int):
    """Take a reviewer off a candidate of the round (the same service as the first round's panel page)."""
    call = get_call_or_404(call_id, with_quotas=False)
    stage = review_rounds.later_round_or_404(call.id, round_id)
    item = _round_assignment_or_404(stage, assignment_id)
    if not FellowshipForm().validate_on_submit():
        abort(400)
    try:
        round_changes.unassign(item, current_user)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(_("The reviewer was taken off the candidate; it is not given back to them automatically."), "success")
    return _back(call, stage)


@bp.route("/staff/calls/<int:call_id>/rounds/<int:round_id>/assignments/<int:assignment_id>/reassign",
          methods=["POST"])
@roles_required(*STAFF_ROLES)
def review_round_reassign(call_id: int, round_id: int, assignment_id: int):
    """Give a reviewer's candidate to another panel member, or to whoever the round's plan picks."""
    call = get_call_or_404(call_id, with_quotas=False)
    stage = review_rounds.later_round_or_404(call.id, round_id)
    item = _round_assignment_or_404(stage, assignment_id)
    form = ReassignForm()
    if not form.validate_on_submit():
        flash(_("Choose a reviewer from the list."), "error")
        return _back(call, stage)
    target = db.session.get(User, int(form.reviewer.data)) if form.reviewer.data else None
    if form.reviewer.data and target is None:
        abort(404)
    try:
        given = round_changes.reassign(item, target, current_user)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return _back(call, stage)
    names = [u.full_name for u in db.session.scalars(select(User).where(User.id.in_(given)).order_by(User.full_name))]
    db.session.commit()
    if names:
        flash(_("The candidate now goes to %(names)s.", names=", ".join(names)), "success")
    else:
        flash(_("The reviewer was taken off the candidate, but no other panel member can take it: add one to the "
                "panel or assign by hand."), "error")
    return _back(call, stage)


# --- Reviewers ------------------------------------------------------------------------------------------------

@bp.route("/review/rounds")
@roles_required(Role.REVIEWER)
def my_round_reviews():
    page = paginate(review_rounds.reviewer_rounds(current_user.id),
                    count=review_rounds.reviewer_rounds_count(current_user.id))
    return render_template("selection/round_review_list.html", page=page,
                           assignment_url=row_url("selection.round_review", "round_assignment_id"))


def _render_review(assignment: StageAssignment, stage: SelectionStage, criteria: list[StageCriterion],
                   review: StageReview | None, form: RoundReviewForm, error: str | None = None,
                   status: int = 200) -> tuple[str, int]:
    application = get_application_or_404(assignment.application_id)
    view = reviewing.blind_view(application) if stage.blind else reviewing._reviewer_view(application, blind=False)
    return render_template("selection/round_review.html", assignment=assignment, stage=stage, call=application.call,
                           view=view, criteria=criteria, review=review, form=form, field_name=_field, error=error,
                           submitted=review is not None and review.status is ReviewStatus.SUBMITTED), status


@bp.route("/review/rounds/<int:round_assignment_id>", methods=["GET", "POST"])
@roles_required(Role.REVIEWER)
def round_review(round_assignment_id: int):
    """One candidate of a later round: the file (blind or not, as the round says) and the round's rubric."""
    assignment = review_rounds.assignment_for_reviewer_or_404(round_assignment_id, current_user.id)
    stage = db.session.get_one(SelectionStage, assignment.stage_id)
    criteria = stage_criteria(stage)
    review = review_rounds.review_for(assignment)
    form = _review_form(criteria, review)
    if request.method == "GET":
        record("selection.application_viewed", db.session.get_one(Application, assignment.application_id),
               stage_assignment_id=assignment.id, stage_id=stage.id)
        db.session.commit()
        return _render_review(assignment, stage, criteria, review, form)
    if not form.validate_on_submit():
        return _render_review(assignment, stage, criteria, review, form, status=422)
    submit = bool(form.submit_review.data) or (review is not None and review.status is ReviewStatus.SUBMITTED)
    scores = {c.id: form[_field(c)].data for c in criteria if form[_field(c)].data}
    try:
        review_rounds.save_review(assignment, scores, form.comment.data or "", submit)
    except DomainError as exc:
        db.session.rollback()
        missing = _("Choose a score from 1 to 5 to submit the review.")
        for c in criteria:
            if submit and not form[_field(c)].data:
                form[_field(c)].errors = [*form[_field(c)].errors, missing]
        return _render_review(assignment, stage, criteria, review_rounds.review_for(assignment), form, str(exc), 422)
    db.session.commit()
    flash(_("Your review is submitted.") if submit else _("Your draft is saved."), "success")
    return redirect(url_for("selection.round_review", round_assignment_id=assignment.id))
