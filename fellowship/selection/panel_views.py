"""Selection pages of the panel: members, automatic and manual assignment (staff); conflicts and recusal (reviewers)."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select
from wtforms import EmailField, IntegerField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional, ValidationError

from fellowship.applications.models import Application
from fellowship.applications.staff_services import get_call_or_404
from fellowship.auth.models import Role, User
from fellowship.auth.permissions import roles_required
from fellowship.auth.services import find_user_by_email
from fellowship.calls.models import Call
from fellowship.errors import DomainError
from fellowship.extensions import db
from fellowship.forms import FellowshipForm
from fellowship.geo import country_choices
from fellowship.pagination import Page, paginate, requested_page
from fellowship.selection import assignment, bp, conflicts, round_changes
from fellowship.selection.models import Assignment, AssignmentStatus, CallReviewer, ConflictKind, ConflictSource

STAFF_ROLES = (Role.STAFF, Role.ADMIN)
#: Panel members shown per page of the members table (the page's own `members_page` parameter).
MEMBERS_PER_PAGE = 50


# --- Forms ---------------------------------------------------------------------------------------------------


class _MemberFields(FellowshipForm):
    cap = IntegerField(_l("Most applications (cap)"), validators=[Optional(), NumberRange(min=0, max=10000)],
                       description=_l("Leave empty for no cap."))
    institution = StringField(_l("Institution"), validators=[Optional(), Length(max=200)],
                              description=_l("Applicants from the same institution become conflicts of interest."))
    nationality = SelectField(_l("Nationality"), validators=[Optional()],
                              description=_l("Compared with applicants' nationality when the call asks for it."))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.nationality.choices = [("", _("Not given")), *country_choices()]


class AddMemberForm(_MemberFields):
    email = EmailField(_l("Reviewer's email"), validators=[DataRequired(), Email(), Length(max=254)],
                       description=_l("The account must hold the reviewer role."))
    submit = SubmitField(_l("Add to the panel"))


class EditMemberForm(_MemberFields):
    submit = SubmitField(_l("Save"))


class AssignForm(FellowshipForm):
    application_id = IntegerField(validators=[DataRequired()])
    reviewer_id = IntegerField(validators=[DataRequired()])


class ConflictForm(FellowshipForm):
    reference = StringField(_l("Application reference number"), validators=[DataRequired(), Length(max=32)],
                            description=_l("For example ELF-2027-00042. You do not need to open the application."))
    kind = SelectField(_l("Kind of tie"), choices=[(k.value, k.lazy_label) for k in conflicts.DECLARABLE_KINDS],
                       default=ConflictKind.OTHER.value)
    note = TextAreaField(_l("Note"), validators=[Length(max=2000)],
                         description=_l("A few words for the programme office (required for “Other”)."))
    submit = SubmitField(_l("Declare the conflict"))

    def validate_note(self, field: TextAreaField) -> None:
        if self.kind.data == ConflictKind.OTHER.value and not (field.data or "").strip():
            raise ValidationError(_("Say in a few words what the tie is."))


class RecuseForm(FellowshipForm):
    kind = SelectField(_l("Reason"), choices=[(k.value, k.lazy_label) for k in conflicts.DECLARABLE_KINDS],
                       default=ConflictKind.OTHER.value)
    note = TextAreaField(_l("Note"), validators=[DataRequired(message=_l("Say in a few words why you step back.")),
                                                 Length(max=2000)])
    submit = SubmitField(_l("Recuse myself"))


# --- Staff: the panel ----------------------------------------------------------------------------------------


def _member_or_404(call: Call, member_id: int) -> CallReviewer:
    member = db.session.get(CallReviewer, member_id)
    if member is None or member.call_id != call.id:
        abort(404)
    return member


def _render_panel(call: Call, form: AddMemberForm) -> str:
    members_page_number = max(request.args.get("members_page", 1, type=int) or 1, 1)
    members = paginate(assignment.members_query(call.id), members_page_number, MEMBERS_PER_PAGE)
    active = db.session.execute(assignment.members_query(call.id).where(CallReviewer.active.is_(True))).all()
    applications = paginate(assignment.applications_query(call.id))
    ids = [row.id for row in applications.items]
    return render_template(
        "selection/panel.html", call=call, form=form, members=members, active=active, applications=applications,
        assigned=assignment.assignments_for(ids), conflicted=assignment.conflicts_for(ids),
        k=call.reviewers_per_application,
    )


@bp.route("/staff/calls/<int:call_id>/panel", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def panel(call_id: int):
    call = get_call_or_404(call_id)
    form = AddMemberForm()
    if form.validate_on_submit():
        user = find_user_by_email(form.email.data or "")
        if user is None:
            form.email.errors = [*form.email.errors, _("No account uses this email address.")]
        else:
            try:
                assignment.add_to_panel(call, user, form.cap.data, form.institution.data, form.nationality.data,
                                        current_user)
            except DomainError as exc:
                db.session.rollback()
                form.email.errors = [*form.email.errors, str(exc)]
            else:
                db.session.commit()
                flash(_("%(name)s is on the panel of %(call)s.", name=user.full_name, call=call.title), "success")
                return redirect(url_for("selection.panel", call_id=call.id))
    return _render_panel(call, form)


@bp.route("/staff/calls/<int:call_id>/panel/members/<int:member_id>", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def edit_member(call_id: int, member_id: int):
    call = get_call_or_404(call_id)
    member = _member_or_404(call, member_id)
    form = EditMemberForm()
    if request.method == "GET":
        form.cap.data = member.max_assignments
        form.institution.data = member.institution
        form.nationality.data = member.nationality or ""
    if form.validate_on_submit():
        try:
            plan = assignment.update_panel_member(member, form.cap.data, form.institution.data,
                                                  form.nationality.data, current_user)
        except DomainError as exc:
            db.session.rollback()
            form.cap.errors = [*form.cap.errors, str(exc)]
        else:
            db.session.commit()
            flash(_("%(name)s's panel details are saved.", name=member.reviewer.full_name), "success")
            _flash_plan(plan)
            return redirect(url_for("selection.panel", call_id=call.id))
    return render_template("selection/panel_member.html", call=call, member=member, form=form,
                           load=assignment.call_load(call.id, member.reviewer_id))


def _flash_plan(plan: assignment.AssignmentPlan) -> None:
    if plan.pairs:
        flash(ngettext("%(num)d assignment made.", "%(num)d assignments made.", len(plan.pairs)), "success")
    if plan.shortfalls:
        flash(ngettext("%(num)d application still lacks reviewers: see the list of shortfalls.",
                       "%(num)d applications still lack reviewers: see the list of shortfalls.",
                       len(plan.shortfalls)), "error")


@bp.route("/staff/calls/<int:call_id>/panel/members/<int:member_id>/withdraw", methods=["POST"])
@roles_required(*STAFF_ROLES)
def withdraw_member(call_id: int, member_id: int):
    call = get_call_or_404(call_id)
    member = _member_or_404(call, member_id)
    if not FellowshipForm().validate_on_submit():
        abort(400)
    try:
        plan = assignment.withdraw_reviewer(call, member.reviewer, current_user)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(_("%(name)s left the panel; their reviews not yet submitted go to others.",
                name=member.reviewer.full_name), "success")
        _flash_plan(plan)
    return redirect(url_for("selection.panel", call_id=call.id))


@bp.route("/staff/calls/<int:call_id>/panel/auto-assign", methods=["POST"])
@roles_required(*STAFF_ROLES)
def auto_assign(call_id: int):
    call = get_call_or_404(call_id)
    if not FellowshipForm().validate_on_submit():
        abort(400)
    try:
        plan = assignment.auto_assign(call, current_user)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("selection.panel", call_id=call.id))
    db.session.commit()
    if not plan.pairs and not plan.shortfalls:
        flash(_("Every application under review already has its reviewers; nothing to do."), "info")
    _flash_plan(plan)
    if plan.shortfalls:
        return redirect(url_for("selection.shortfalls", call_id=call.id))
    return redirect(url_for("selection.panel", call_id=call.id))


@bp.route("/staff/calls/<int:call_id>/panel/shortfalls")
@roles_required(*STAFF_ROLES)
def shortfalls(call_id: int):
    """Applications short of k reviewers with why (the planner run without writing), paginated."""
    call = get_call_or_404(call_id)
    plan = assignment.preview(call)
    page_number, per_page = requested_page()
    short = sorted(plan.shortfalls)
    ids = short[(page_number - 1) * per_page:page_number * per_page]
    references = {row.id: row.reference for row in db.session.execute(
        select(Application.id, Application.reference).where(Application.id.in_(ids)))} if ids else {}
    page = Page(items=[(i, references.get(i), plan.shortfalls[i], plan.explanations[i]) for i in ids],
                page=page_number, per_page=per_page, total=len(short))
    return render_template("selection/panel_shortfalls.html", call=call, page=page, possible=len(plan.pairs))


def _back_to_panel(call: Call) -> Any:
    page = request.args.get("page", type=int)
    return redirect(url_for("selection.panel", call_id=call.id, page=page) + "#assignments")


@bp.route("/staff/calls/<int:call_id>/panel/assign", methods=["POST"])
@roles_required(*STAFF_ROLES)
def assign(call_id: int):
    call = get_call_or_404(call_id)
    form = AssignForm()
    if not form.validate_on_submit():
        flash(_("Choose a reviewer to assign."), "error")
        return _back_to_panel(call)
    application = db.session.get(Application, form.application_id.data)
    reviewer = db.session.get(User, form.reviewer_id.data)
    if application is None or application.call_id != call.id or reviewer is None:
        abort(404)
    try:
        assignment.assign(call, application, reviewer, current_user)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(_("%(name)s now reviews %(application)s.", name=reviewer.full_name, application=application.reference),
              "success")
    return _back_to_panel(call)


@bp.route("/staff/calls/<int:call_id>/panel/assignments/<int:assignment_id>/unassign", methods=["POST"])
@roles_required(*STAFF_ROLES)
def unassign(call_id: int, assignment_id: int):
    call = get_call_or_404(call_id)
    item = db.session.get(Assignment, assignment_id)
    if item is None or item.call_id != call.id:
        abort(404)
    if not FellowshipForm().validate_on_submit():
        abort(400)
    try:
        round_changes.unassign(item, current_user)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(_("The reviewer was taken off the application; it is not given back to them automatically."), "success")
    return _back_to_panel(call)


# --- Reviewers: conflicts of interest and recusal ------------------------------------------------------------


@bp.route("/review/conflicts", methods=["GET", "POST"])
@roles_required(Role.REVIEWER)
def conflicts_page():
    form = ConflictForm()
    if form.validate_on_submit():
        try:
            application = conflicts.application_for_declaration(current_user.id, form.reference.data or "")
            conflict = conflicts.declare_conflict(current_user, application, ConflictKind(form.kind.data),
                                                  form.note.data or "")
        except DomainError as exc:
            db.session.rollback()
            form.reference.errors = [*form.reference.errors, str(exc)]
        else:
            db.session.commit()
            flash(_("Conflict of interest with %(application)s declared. You were assigned to it: that assignment is "
                    "withdrawn and it goes to another reviewer.", application=application.reference)
                  if conflict.source is ConflictSource.RECUSAL
                  else _("Conflict of interest with %(application)s declared. You will not be assigned to it.",
                         application=application.reference), "success")
            return redirect(url_for("selection.conflicts_page"))
    page = paginate(conflicts.declarations_query(current_user.id))
    return render_template("selection/conflicts.html", form=form, page=page)


def _own_active_assignment_or_404(assignment_id: int) -> Assignment:
    item = db.session.get(Assignment, assignment_id)
    if item is None or item.reviewer_id != current_user.id or item.status is not AssignmentStatus.ACTIVE:
        abort(404)
    return item


@bp.route("/review/assignments/<int:assignment_id>/recuse", methods=["GET", "POST"])
@roles_required(Role.REVIEWER)
def recuse(assignment_id: int):
    item = _own_active_assignment_or_404(assignment_id)
    application = db.session.get_one(Application, item.application_id)
    form = RecuseForm()
    if form.validate_on_submit():
        try:
            conflicts.recuse(item, form.note.data or "", ConflictKind(form.kind.data))
        except DomainError as exc:
            db.session.rollback()
            form.note.errors = [*form.note.errors, str(exc)]
        else:
            db.session.commit()
            flash(_("You stepped back from %(application)s; it goes to another reviewer.",
                    application=application.reference), "success")
            return redirect(url_for("selection.conflicts_page"))
    return render_template("selection/conflict_recuse.html", form=form, reference=application.reference,
                           call_title=application.call.title)
