"""Pages of the interviews area: staff's slots, the candidate's booking, the panel's schedule and scores."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select

from fellowship.applications.models import Application
from fellowship.auth.models import User
from fellowship.auth.permissions import roles_required
from fellowship.calls.models import Call
from fellowship.errors import DomainError
from fellowship.extensions import db
from fellowship.forms import field_for
from fellowship.i18n.texts import SOURCE_LOCALE
from fellowship.interviews import bp, notes, scoring, services, setup
from fellowship.interviews.calendar import invitation_ics
from fellowship.interviews.forms import (
    BookForm,
    ConfirmForm,
    CriterionForm,
    InterviewerForm,
    NoteQuestionForm,
    SlotForm,
    StaffBookForm,
    score_field_name,
    score_form,
)
from fellowship.interviews.models import (
    BookingStatus,
    InterviewBooking,
    InterviewMode,
    InterviewScore,
    InterviewSlot,
    SlotPanelMember,
)
from fellowship.interviews.setup import PANEL_ROLES
from fellowship.models import utcnow
from fellowship.pagination import paginate, requested_page
from fellowship.questions import services as questions
from fellowship.questions.display import displayed_answers
from fellowship.questions.forms import SectionForm, section_form
from fellowship.questions.kinds import QuestionKind
from fellowship.questions.models import Question, Questionnaire
from fellowship.questions.models import Response as NotesResponse
from fellowship.selection.models import SelectionStage
from fellowship.selection.ranking_views import STAFF_ROLES, get_call_or_404
from fellowship.selection.reviewing import _reviewer_view
from fellowship.selection.stages import shortlisted_query, stage_criteria, stage_panel
from fellowship.timezones import viewer_zone

# --- Staff ----------------------------------------------------------------------------------------------------

def _stage_or_404(interview_id: int) -> tuple[SelectionStage, Call]:
    """The interview stage and its call, else 404 (staff see every call)."""
    stage = services.interview_stage(interview_id)
    if stage is None:
        abort(404)
    return stage, get_call_or_404(stage.call_id, with_quotas=False)


def _slot_form(stage: SelectionStage, formdata: Any = None) -> SlotForm:
    form = SlotForm(formdata=formdata) if formdata is not None else SlotForm()
    form.panel.choices = [(u.id, u.full_name or u.email) for u in stage_panel(stage)]
    return form


def _render_slots(call: Call, stage: SelectionStage, *, slot: SlotForm | None = None,
                  interviewer: InterviewerForm | None = None, criterion: CriterionForm | None = None) -> str:
    page, per_page = requested_page()
    slots = paginate(services.slots_query(stage), page, per_page, scalars=True)
    ids = [s.id for s in slots.items]
    shortlisted = db.session.scalar(select(func.count()).select_from(shortlisted_query(stage).subquery()))
    return render_template(
        "interviews/slots.html", call=call, stage=stage, slots=slots, bookings=services.bookings_of_slots(ids),
        panel=stage_panel(stage), criteria=stage_criteria(stage), shortlisted=shortlisted or 0,
        slot_form=slot or _slot_form(stage, formdata=None),
        interviewer_form=interviewer or InterviewerForm(formdata=None),
        criterion_form=criterion or CriterionForm(formdata=None))


@bp.route("/staff/interviews/<int:interview_id>", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def stage_slots(interview_id: int):
    """The interview stage's slots (with their bookings), its panel and rubric; POST adds a slot."""
    stage, call = _stage_or_404(interview_id)
    if request.method == "GET":
        return _render_slots(call, stage)
    form = _slot_form(stage)
    if form.validate_on_submit():
        settings = services.SlotSettings(
            starts_local=form.starts_at.data, duration_minutes=form.duration_minutes.data or 30,
            capacity=form.capacity.data or 1, mode=InterviewMode(form.mode.data), location=form.location.data or "",
            panel_ids=tuple(form.panel.data or ()))
        try:
            services.create_slot(call, stage, settings, current_user)
        except DomainError as exc:
            form.starts_at.errors = [*form.starts_at.errors, str(exc)]
        else:
            db.session.commit()
            flash(_("Interview slot added."), "success")
            return redirect(url_for("interviews.stage_slots", interview_id=stage.id))
    return _render_slots(call, stage, slot=form), 422


@bp.route("/staff/interviews/<int:interview_id>/panel", methods=["POST"])
@roles_required(*STAFF_ROLES)
def add_interviewer(interview_id: int):
    stage, call = _stage_or_404(interview_id)
    form = InterviewerForm()
    if form.validate_on_submit():
        try:
            user = setup.add_interviewer(stage, form.email.data or "", current_user)
        except DomainError as exc:
            form.email.errors = [*form.email.errors, str(exc)]
        else:
            db.session.commit()
            flash(_("%(name)s is on the interview panel.", name=user.full_name or user.email), "success")
            return redirect(url_for("interviews.stage_slots", interview_id=stage.id))
    return _render_slots(call, stage, interviewer=form), 422


@bp.route("/staff/interviews/<int:interview_id>/criteria", methods=["POST"])
@roles_required(*STAFF_ROLES)
def add_criterion(interview_id: int):
    stage, call = _stage_or_404(interview_id)
    form = CriterionForm()
    if form.validate_on_submit():
        try:
            setup.add_criterion(stage, form.name.data or "", form.weight.data, form.description.data or "",
                                current_user)
        except DomainError as exc:
            form.name.errors = [*form.name.errors, str(exc)]
        else:
            db.session.commit()
            flash(_("Criterion added to the interview rubric."), "success")
            return redirect(url_for("interviews.stage_slots", interview_id=stage.id))
    return _render_slots(call, stage, criterion=form), 422


def _locale() -> str:
    return str(get_locale() or SOURCE_LOCALE)


def _render_notes(call: Call, stage: SelectionStage, form: NoteQuestionForm) -> str:
    questionnaire = notes.notes_questionnaire(stage)
    return render_template("interviews/notes.html", call=call, stage=stage, questionnaire=questionnaire,
                           items=questions.ordered_questions(questionnaire) if questionnaire else [], form=form,
                           confirm=ConfirmForm(formdata=None), locale=_locale())


def _note_question_form(formdata: Any = None) -> NoteQuestionForm:
    form = NoteQuestionForm(formdata=formdata) if formdata is not None else NoteQuestionForm()
    form.kind.choices = notes.kind_choices()
    return form


@bp.route("/staff/interviews/<int:interview_id>/notes", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def notes_questions(interview_id: int):
    """The questions of the stage's notes questionnaire (interviewers answer them beside their scores); POST adds
    one. Without any, interviewers write free-text notes."""
    stage, call = _stage_or_404(interview_id)
    if request.method == "GET":
        return _render_notes(call, stage, _note_question_form(formdata=None))
    form = _note_question_form()
    if form.validate_on_submit():
        try:
            notes.add_note_question(stage, notes.NoteQuestion(
                label=form.label.data or "", kind=QuestionKind(form.kind.data), required=bool(form.required.data),
                help_text=form.help_text.data or "", choices=tuple((form.choices.data or "").splitlines())),
                current_user)
        except DomainError as exc:
            db.session.rollback()
            field_for(form, exc, default=form.label).errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Question added to the interview notes."), "success")
            return redirect(url_for("interviews.notes_questions", interview_id=stage.id))
    return _render_notes(call, stage, form), 422


@bp.route("/staff/interviews/<int:interview_id>/notes/<int:question_id>/remove", methods=["POST"])
@roles_required(*STAFF_ROLES)
def remove_notes_question(interview_id: int, question_id: int):
    stage, call = _stage_or_404(interview_id)
    question = db.session.get(Question, question_id)
    if question is None or stage.notes_questionnaire_id is None \
            or question.questionnaire_id != stage.notes_questionnaire_id:
        abort(404)
    if ConfirmForm().validate_on_submit():
        try:
            notes.remove_note_question(stage, question, current_user)
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("Question removed from the interview notes."), "success")
    return redirect(url_for("interviews.notes_questions", interview_id=stage.id))


def _slot_or_404(slot_id: int) -> tuple[InterviewSlot, SelectionStage, Call]:
    slot = db.session.get(InterviewSlot, slot_id)
    if slot is None:
        abort(404)
    stage = db.session.get_one(SelectionStage, slot.stage_id)
    return slot, stage, get_call_or_404(slot.call_id, with_quotas=False)


def _render_slot(slot: InterviewSlot, stage: SelectionStage, call: Call, book: StaffBookForm | None = None) -> str:
    panel_ids = services.slot_panel_ids([slot.id]).get(slot.id, [])
    panel = list(db.session.scalars(select(User).where(User.id.in_(panel_ids)).order_by(User.full_name))) \
        if panel_ids else []
    return render_template("interviews/slot.html", slot=slot, stage=stage, call=call, panel=panel,
                           bookings=services.bookings_of_slots([slot.id]).get(slot.id, []),
                           book=book or StaffBookForm(formdata=None), confirm=ConfirmForm(formdata=None),
                           started=slot.starts_at <= utcnow(), BookingStatus=BookingStatus)


@bp.route("/staff/interview-slots/<int:slot_id>")
@roles_required(*STAFF_ROLES)
def slot_detail(slot_id: int):
    """One slot: its panel and bookings; book a candidate on their behalf, cancel, mark no-shows."""
    slot, stage, call = _slot_or_404(slot_id)
    return _render_slot(slot, stage, call)


@bp.route("/staff/interview-slots/<int:slot_id>/book", methods=["POST"])
@roles_required(*STAFF_ROLES)
def staff_book(slot_id: int):
    slot, stage, call = _slot_or_404(slot_id)
    form = StaffBookForm()
    if form.validate_on_submit():
        application = db.session.scalar(select(Application).where(
            Application.call_id == call.id, Application.reference == (form.reference.data or "").strip().upper()))
        try:
            if application is None:
                raise DomainError(_("No application of this call has this reference number."))
            services.book(stage, application, slot.id, current_user, on_behalf=True)
        except DomainError as exc:
            db.session.rollback()
            form.reference.errors = [*form.reference.errors, str(exc)]
        else:
            db.session.commit()
            flash(_("%(reference)s booked; the candidate is emailed the invitation.",
                    reference=application.reference), "success")
            return redirect(url_for("interviews.slot_detail", slot_id=slot.id))
    slot, stage, call = _slot_or_404(slot_id)
    return _render_slot(slot, stage, call, book=form), 422


def _booking_for_staff(booking_id: int) -> InterviewBooking:
    booking = db.session.get(InterviewBooking, booking_id)
    if booking is None:
        abort(404)
    return booking


@bp.route("/staff/interview-bookings/<int:booking_id>")
@roles_required(*STAFF_ROLES)
def booking_detail(booking_id: int):
    """The candidate's interview for staff: the booking and every interviewer's scores and notes."""
    booking = _booking_for_staff(booking_id)
    slot = db.session.get_one(InterviewSlot, booking.slot_id)
    stage = db.session.get_one(SelectionStage, booking.stage_id)
    call = get_call_or_404(stage.call_id, with_quotas=False)
    application = db.session.get_one(Application, booking.application_id)
    rows = db.session.execute(
        select(InterviewScore, User).join(User, User.id == InterviewScore.interviewer_id)
        .where(InterviewScore.stage_id == stage.id, InterviewScore.application_id == application.id)
        .order_by(User.full_name, User.id)).all()
    questionnaire = notes.notes_questionnaire(stage)
    response_ids = [score.notes_response_id for score, _user in rows if score.notes_response_id is not None]
    responses = {r.id: r for r in db.session.scalars(
        select(NotesResponse).where(NotesResponse.id.in_(response_ids)))} if response_ids else {}
    answered = {response_id: displayed_answers(questionnaire, questions.answers_of(response), _locale())
                for response_id, response in responses.items()} if questionnaire is not None else {}
    return render_template("interviews/booking.html", booking=booking, slot=slot, stage=stage, call=call,
                           application=application, rows=rows, criteria=stage_criteria(stage), answered=answered,
                           BookingStatus=BookingStatus)


@bp.route("/staff/interview-bookings/<int:booking_id>/no-show", methods=["POST"])
@roles_required(*STAFF_ROLES)
def mark_no_show(booking_id: int):
    booking = _booking_for_staff(booking_id)
    if ConfirmForm().validate_on_submit():
        try:
            services.mark_no_show(booking, current_user)
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("Marked as a no-show."), "success")
    return redirect(url_for("interviews.slot_detail", slot_id=booking.slot_id))


@bp.route("/staff/interview-bookings/<int:booking_id>/cancel", methods=["POST"])
@roles_required(*STAFF_ROLES)
def staff_cancel(booking_id: int):
    booking = _booking_for_staff(booking_id)
    slot_id = booking.slot_id
    if ConfirmForm().validate_on_submit():
        try:
            services.cancel(booking, current_user, by_staff=True)
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("Booking cancelled; the place is free again."), "success")
    return redirect(url_for("interviews.slot_detail", slot_id=slot_id))


# --- The candidate --------------------------------------------------------------------------------------------

def _candidate_stage_or_404(interview_id: int) -> tuple[SelectionStage, Application, Call]:
    """The interview stage and the current user's shortlisted application in it; 404 for anyone else."""
    stage = services.interview_stage(interview_id)
    application = services.candidate_application(stage, current_user) if stage is not None else None
    if stage is None or application is None:
        abort(404)
    return stage, application, db.session.get_one(Call, stage.call_id)


def _book_form(stage: SelectionStage, call: Call, zone: str, formdata: Any = None) -> BookForm:
    form = BookForm(formdata=formdata) if formdata is not None else BookForm()
    form.slot.choices = [(s.id, _slot_label(s, zone, call.time_zone)) for s in services.open_slots(stage)]
    return form


def _slot_label(slot: InterviewSlot, zone: str, programme_zone: str) -> str:
    return _("%(when)s · %(minutes)d minutes · %(mode)s", when=services.when_for(slot.starts_at, zone, programme_zone),
             minutes=slot.duration_minutes, mode=slot.mode.label)


def _render_candidate(stage: SelectionStage, application: Application, call: Call, form: BookForm | None = None,
                      taken: str | None = None) -> str:
    zone = viewer_zone(current_user, call.time_zone)
    booking = services.live_booking(stage.id, application.id)
    slot = db.session.get(InterviewSlot, booking.slot_id) if booking is not None else None
    return render_template(
        "interviews/book.html", stage=stage, application=application, call=call, booking=booking, slot=slot,
        when=services.when_for(slot.starts_at, zone, call.time_zone) if slot else None,
        refusal=services.change_refusal(slot) if slot else None, zone=zone,
        form=form or _book_form(stage, call, zone, formdata=None), cancel=ConfirmForm(formdata=None), taken=taken,
        BookingStatus=BookingStatus)


@bp.route("/interviews/<int:interview_id>")
@login_required
def candidate_booking(interview_id: int):
    """The shortlisted candidate's page: the open interview times in their own zone, or their booking."""
    stage, application, call = _candidate_stage_or_404(interview_id)
    return _render_candidate(stage, application, call)


@bp.route("/interviews/<int:interview_id>/book", methods=["POST"])
@login_required
def candidate_book(interview_id: int):
    stage, application, call = _candidate_stage_or_404(interview_id)
    zone = viewer_zone(current_user, call.time_zone)
    form = _book_form(stage, call, zone, formdata=request.form)
    # Any slot of the stage is a valid answer here: one that filled up since the page was shown is the service's to
    # refuse ("just taken", with the times still open), not "not a valid choice".
    form.slot.choices = [(s.id, "") for s in db.session.scalars(services.slots_query(stage))]
    if form.validate_on_submit():
        try:
            services.book(stage, application, form.slot.data, current_user)
        except services.SlotTaken as exc:
            db.session.rollback()
            # The slot went to someone else a moment ago: say so, and offer the times still open.
            stage, application, call = _candidate_stage_or_404(interview_id)
            fresh = _book_form(stage, call, zone, formdata=None)
            fresh.slot.errors = [str(exc)]
            return _render_candidate(stage, application, call, form=fresh, taken=str(exc)), 409
        except DomainError as exc:
            db.session.rollback()
            stage, application, call = _candidate_stage_or_404(interview_id)
            form = _book_form(stage, call, zone, formdata=request.form)
            form.slot.errors = [str(exc)]
        else:
            db.session.commit()
            flash(_("Your interview is booked. We have emailed you the invitation."), "success")
            return redirect(url_for("interviews.candidate_booking", interview_id=stage.id))
    else:
        errors = form.slot.errors
        form = _book_form(stage, call, zone, formdata=request.form)
        form.slot.errors = list(errors)
    return _render_candidate(stage, application, call, form=form), 422


@bp.route("/interviews/<int:interview_id>/cancel", methods=["POST"])
@login_required
def candidate_cancel(interview_id: int):
    stage, application, call = _candidate_stage_or_404(interview_id)
    booking = services.live_booking(stage.id, application.id)
    if booking is None:
        abort(404)
    if ConfirmForm().validate_on_submit():
        try:
            services.cancel(booking, current_user)
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("Your interview is cancelled. You can choose another time below."), "success")
    return redirect(url_for("interviews.candidate_booking", interview_id=stage.id))


@bp.route("/interviews/<int:interview_id>/invitation.ics")
@login_required
def candidate_ics(interview_id: int):
    """The booking's .ics invitation, in the candidate's zone."""
    stage, application, call = _candidate_stage_or_404(interview_id)
    booking = services.live_booking(stage.id, application.id)
    if booking is None or booking.status is not BookingStatus.BOOKED:
        abort(404)
    slot = db.session.get_one(InterviewSlot, booking.slot_id)
    text = invitation_ics(booking, slot, stage, call, viewer_zone(current_user, call.time_zone))
    return Response(text, mimetype="text/calendar",
                    headers={"Content-Disposition": 'attachment; filename="interview.ics"'})


# --- The panel ------------------------------------------------------------------------------------------------

@bp.route("/panel/interviews")
@roles_required(*PANEL_ROLES)
def my_interviews():
    """The interviewer's schedule in their own zone: the slots they sit on, with each booked candidate."""
    page, per_page = requested_page()
    stmt = (select(InterviewSlot, SelectionStage.name, Call.title, Call.programme_id)
            .join(SlotPanelMember, SlotPanelMember.slot_id == InterviewSlot.id)
            .join(SelectionStage, SelectionStage.id == InterviewSlot.stage_id)
            .join(Call, Call.id == InterviewSlot.call_id)
            .where(SlotPanelMember.user_id == current_user.id)
            .order_by(InterviewSlot.starts_at, InterviewSlot.id))
    slots = paginate(stmt, page, per_page)
    ids = [row[0].id for row in slots.items]
    scored = set(db.session.scalars(select(InterviewScore.booking_id).join(
        InterviewBooking, InterviewBooking.id == InterviewScore.booking_id).where(
        InterviewBooking.slot_id.in_(ids), InterviewScore.interviewer_id == current_user.id))) if ids else set()
    return render_template("interviews/schedule.html", slots=slots, bookings=services.bookings_of_slots(ids),
                           scored=scored, BookingStatus=BookingStatus)


def _panel_booking_or_404(booking_id: int) -> tuple[InterviewBooking, InterviewSlot, SelectionStage, Application]:
    """A booking in a slot the current user sits on (else 404), with its slot, stage and application."""
    booking = db.session.get(InterviewBooking, booking_id)
    if booking is None or booking.status is BookingStatus.CANCELLED \
            or not services.sits_on_slot(current_user.id, booking.slot_id):
        abort(404)
    return (booking, db.session.get_one(InterviewSlot, booking.slot_id),
            db.session.get_one(SelectionStage, booking.stage_id),
            db.session.get_one(Application, booking.application_id))


@bp.route("/panel/interviews/<int:booking_id>", methods=["GET", "POST"])
@roles_required(*PANEL_ROLES)
def score_interview(booking_id: int):
    """The candidate's file beside the interview rubric; POST saves this interviewer's scores and notes."""
    booking, slot, stage, application = _panel_booking_or_404(booking_id)
    criteria = stage_criteria(stage)
    mine = _my_score(stage, application)
    questionnaire = notes.notes_questionnaire(stage)
    error: str | None = None
    if request.method == "GET":
        data: dict[str, Any] = {"notes": mine.notes if mine else ""}
        data.update({score_field_name(c): (mine.scores.get(str(c.id)) if mine else None) for c in criteria})
        form = score_form(criteria, data)
        note_forms = _note_forms(questionnaire, mine)
    else:
        form = score_form(criteria)
        note_forms = _note_forms(questionnaire, mine)
        if form.validate_on_submit():
            try:
                scoring.score_interview(
                    booking, current_user, {c.id: form[score_field_name(c)].data for c in criteria},
                    # With a notes questionnaire the free-text field is not shown: earlier text notes are kept.
                    (mine.notes if mine else "") if questionnaire is not None else form.notes.data or "",
                    {section_id: nf.values() for section_id, nf in note_forms})
            except notes.NotesIncomplete as exc:
                db.session.rollback()
                error = str(exc)
                for _section_id, nf in note_forms:
                    nf.apply_result(questions.SaveResult(errors=exc.problems))
            except DomainError as exc:
                db.session.rollback()
                if questionnaire is None:
                    form.notes.errors = [*form.notes.errors, str(exc)]
                else:
                    error = str(exc)
            else:
                db.session.commit()
                flash(_("Your interview scores are saved."), "success")
                return redirect(url_for("interviews.my_interviews"))
        booking, slot, stage, application = _panel_booking_or_404(booking_id)
    call = db.session.get_one(Call, stage.call_id)
    status = 200 if request.method == "GET" else 422
    return render_template("interviews/score.html", booking=booking, slot=slot, stage=stage, call=call,
                           application=application, view=_reviewer_view(application, blind=False),
                           criteria=criteria, form=form, score_field_name=score_field_name,
                           note_forms=note_forms, error=error, BookingStatus=BookingStatus), status


def _my_score(stage: SelectionStage, application: Application) -> InterviewScore | None:
    return db.session.scalar(select(InterviewScore).where(
        InterviewScore.stage_id == stage.id, InterviewScore.application_id == application.id,
        InterviewScore.interviewer_id == current_user.id))


def _note_forms(questionnaire: Questionnaire | None, mine: InterviewScore | None) -> list[tuple[int, SectionForm]]:
    """A form per section of the stage's notes questionnaire, filled from this interviewer's answers (or the post)."""
    if questionnaire is None:
        return []
    response = db.session.get(NotesResponse, mine.notes_response_id) \
        if mine is not None and mine.notes_response_id is not None else None
    answers = questions.answers_of(response) if response is not None else {}
    return [(section.id, section_form(section, answers, _locale())) for section in questionnaire.sections]
