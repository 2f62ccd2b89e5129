"""Reviewers' pages: their assignments, and one application with the rubric to score it; staff lock the panel."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from wtforms import Field, RadioField, SelectField, SubmitField, TextAreaField
from wtforms.validators import Length, Optional

from fellowship.applications.models import Application, Document
from fellowship.applications.permissions import get_application_or_404
from fellowship.applications.staff_services import get_call_or_404
from fellowship.audit.services import record
from fellowship.auth.models import Role
from fellowship.auth.permissions import roles_required
from fellowship.calls.models import Call, DocumentKind, RubricCriterion
from fellowship.documents.permissions import can_view_document
from fellowship.errors import DomainError
from fellowship.extensions import db
from fellowship.forms import FellowshipForm
from fellowship.navigation import row_url, safe_local_path
from fellowship.pagination import paginate
from fellowship.selection import bp, reviewing
from fellowship.selection.models import Assignment, Recommendation, Review, ReviewStatus

STAFF_ROLES = (Role.STAFF, Role.ADMIN)


class ReviewForm(FellowshipForm):
    """Comment, recommendation and the two buttons; one radio group per criterion is added per call."""

    comment = TextAreaField(_l("Comment"), validators=[Optional(), Length(max=10_000)],
                            description=_l("Your assessment for the panel: strengths, weaknesses, questions."))
    recommendation = SelectField(
        _l("Recommendation"), validators=[Optional()],
        choices=[("", _l("Choose a recommendation")), *Recommendation.lazy_choices()])
    save_draft = SubmitField(_l("Save draft"))
    submit_review = SubmitField(_l("Submit review"))


def score_field_name(criterion: RubricCriterion) -> str:
    return f"score_{criterion.id}"


def review_form(criteria: list[RubricCriterion], review: Review | None) -> ReviewForm:
    """The form for this call's rubric, filled from the saved review on GET."""
    fields = {score_field_name(c): RadioField(c.name, choices=[(n, str(n)) for n in reviewing.SCORES], coerce=int,
                                              validators=[Optional()]) for c in criteria}
    form_class: Any = type("RubricReviewForm", (ReviewForm,), fields)
    if request.method == "POST" or review is None:
        return form_class()
    data: dict[str, Any] = {score_field_name(c): None for c in criteria}
    by_criterion = {s.criterion_id: s.score for s in review.scores}
    data.update({score_field_name(c): by_criterion.get(c.id) for c in criteria})
    data.update(comment=review.comment,
                recommendation=review.recommendation.value if review.recommendation else "")
    return form_class(data=data)


# --- Reviewers ------------------------------------------------------------------------------------------------

@bp.route("/review")
@roles_required(Role.REVIEWER)
def my_assignments():
    call_id = request.args.get("call_id", type=int)
    page = paginate(reviewing.reviewer_assignments(current_user.id, call_id),
                    count=reviewing.reviewer_assignment_count(current_user.id, call_id))
    link_args = {"call_id": call_id} if call_id else {}
    return render_template("selection/review_list.html", page=page, link_args=link_args,
                           assignment_url=row_url("selection.review_assignment", "assignment_id"))


def _recuse_action(assignment: Assignment) -> dict[str, Any] | None:
    """Engineer A's recusal page, if that endpoint is there: its URL and whether it takes a POST."""
    if "selection.recuse" not in current_app.view_functions:
        return None
    methods: set[str] = set()
    for rule in current_app.url_map.iter_rules("selection.recuse"):
        methods |= rule.methods or set()
    return {"url": url_for("selection.recuse", assignment_id=assignment.id),
            "post": "POST" in methods and "GET" not in methods}


def _letters_downloadable(documents: list[Document]) -> bool:
    """Whether the documents area lets this reviewer download the application's reference letters."""
    letter = next((d for d in documents if d.kind is DocumentKind.REFERENCE_LETTER), None)
    return letter is None or can_view_document(current_user, letter)


def _render_review(assignment: Assignment, application: Application, review: Review | None, form: ReviewForm,
                   error: str | None = None) -> str:
    call: Call = application.call
    view = reviewing.reviewer_view(application)
    letters = db.session.scalars(
        select(Document).where(Document.application_id == application.id,
                                  Document.kind == DocumentKind.REFERENCE_LETTER).limit(1)).all()
    submitted = review is not None and review.status is ReviewStatus.SUBMITTED
    return render_template(
        "selection/review_assignment.html", assignment=assignment, application=application, call=call,
        view=view, review=review, submitted=submitted, form=form, error=error,
        criteria=call.criteria, score_field_name=score_field_name,
        others=reviewing.visible_reviews(application.id, current_user.id) if submitted else [],
        locked=call.panel_locked_at is not None, letters_downloadable=_letters_downloadable(list(letters)),
        recuse=_recuse_action(assignment),
    )


def _mark_missing(form: ReviewForm, criteria: list[RubricCriterion]) -> None:
    """Beside each empty field, say that submitting needs it."""
    for criterion in criteria:
        field: Field = form[score_field_name(criterion)]
        if field.data is None:
            field.errors = [*field.errors, _("Choose a score from 1 to 5 to submit the review.")]
    if not form.recommendation.data:
        form.recommendation.errors = [*form.recommendation.errors, _("Choose a recommendation to submit the review.")]


@bp.route("/review/assignments/<int:assignment_id>", methods=["GET", "POST"])
@roles_required(Role.REVIEWER)
def review_assignment(assignment_id: int):
    assignment = reviewing.get_assignment_for_reviewer_or_404(assignment_id)
    application = get_application_or_404(assignment.application_id)
    review = reviewing.review_for(assignment)
    criteria = list(application.call.criteria)
    form = review_form(criteria, review)
    if request.method == "GET":
        record("selection.application_viewed", application, assignment_id=assignment.id)
        db.session.commit()
    elif form.validate_on_submit():
        submit = bool(form.submit_review.data) or (review is not None and review.status is ReviewStatus.SUBMITTED)
        scores = {c.id: form[score_field_name(c)].data for c in criteria if form[score_field_name(c)].data}
        recommendation = Recommendation(form.recommendation.data) if form.recommendation.data else None
        first_submission = submit and (review is None or review.status is ReviewStatus.DRAFT)
        try:
            reviewing.save_review(assignment, scores, form.comment.data or "", recommendation, submit)
        except DomainError as exc:
            db.session.rollback()
            if submit:
                _mark_missing(form, criteria)
            return _render_review(assignment, application, reviewing.review_for(assignment), form, str(exc))
        db.session.commit()
        flash(_("Your review is submitted.") if first_submission else
              _("Your review is updated.") if submit else _("Your draft is saved."), "success")
        return redirect(url_for("selection.review_assignment", assignment_id=assignment.id))
    return _render_review(assignment, application, review, form)


# --- Staff: the panel lock --------------------------------------------------------------------------------------

@bp.app_context_processor
def _panel_lock_helpers() -> dict[str, Any]:
    """`panel_decisions_sent(call_id)` for the lock control (review_panel_lock.html): no "Reopen" once sent."""
    return {"panel_decisions_sent": reviewing.decisions_sent}


def _back() -> str:
    """Where the lock buttons were (a local path from the form), else the staff list of calls."""
    return safe_local_path(request.form.get("next")) or url_for("calls.staff_calls")


def _back_arg() -> str:
    """The page the confirmation was opened from (?next=, a local path), else the staff list of calls."""
    return safe_local_path(request.args.get("next")) or url_for("calls.staff_calls")


@bp.route("/staff/calls/<int:call_id>/panel/lock", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def lock_panel(call_id: int):
    """A confirmation page naming the proposed applications that still lack reviews (GET); the lock (POST)."""
    call = get_call_or_404(call_id)
    form = FellowshipForm()
    if request.method == "GET":
        from fellowship.selection.decisions import lacking_reviews
        from fellowship.selection.ranking import proposal_for_call

        proposed = proposal_for_call(call, "normalised").selected
        lacking = lacking_reviews(call)
        proposed_set = set(proposed)
        return render_template("selection/lock_confirm.html", call=call, form=form, back=_back_arg(),
                               proposed_lacking=[r for r in lacking if r.application_id in proposed_set],
                               other_lacking=[r for r in lacking if r.application_id not in proposed_set])
    if not form.validate_on_submit():
        abort(400)
    try:
        reviewing.lock_panel(call, current_user)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(_("The reviews of %(call)s are locked: reviewers can no longer change them.", call=call.title), "success")
    return redirect(_back())


@bp.route("/staff/calls/<int:call_id>/panel/unlock", methods=["POST"])
@roles_required(*STAFF_ROLES)
def unlock_panel(call_id: int):
    call = get_call_or_404(call_id)
    if not FellowshipForm().validate_on_submit():
        abort(400)
    try:
        reviewing.unlock_panel(call, current_user)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(_("The reviews of %(call)s are open again for editing.", call=call.title), "success")
    return redirect(_back())
