"""The audit log as people read it: sentences, filters, pages and a CSV export.

One registry (`SENTENCES`) maps each action to a sentence template; an action it does not know reads as its own
name made readable ("selection.panel_locked" -> "Panel locked"), so new actions never break the page. Objects are
named by one query per kind of object on a page (or per batch of an export), never one per row.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, false, func, or_, select
from sqlalchemy.orm import aliased, joinedload

from fellowship.alumni.models import ExportJob, FollowUp
from fellowship.applications.models import Application, Document, Referee
from fellowship.audit.models import AuditEntry
from fellowship.audit.services import PendingEntry, pending
from fellowship.auth.models import User
from fellowship.calls.models import Call, Programme
from fellowship.extensions import db
from fellowship.fellows.models import Fellow
from fellowship.i18n.texts import Texts, current_locale
from fellowship.interviews.models import InterviewBooking, InterviewScore, InterviewSlot
from fellowship.notifications.models import OutboxMessage
from fellowship.questions.models import Question, Questionnaire, QuestionnaireSection
from fellowship.selection.models import (
    Assignment,
    CallReviewer,
    Conflict,
    DecisionOutcome,
    Review,
    SelectionStage,
    StageAssignment,
)
from fellowship.selection.models.stages import stage_name
from fellowship.spreadsheets import csv_cell
from fellowship.timezones import is_valid_zone
from fellowship.words import N_

#: Sentence per action, a message translated when shown. %(actor)s is who acted ("The system" for tasks and
#: commands), %(object)s the object's name, any other %(name)s a detail of the entry. A pair is (with an object,
#: without one).
SENTENCES: dict[str, str | tuple[str, str]] = {
    # Forms (the questionnaire engine)
    "questions.questionnaire_created": N_("%(actor)s created %(object)s"),
    "questions.questionnaire_copied": N_("%(actor)s made %(object)s as a copy of another form"),
    "questions.structure_locked": N_("%(actor)s locked the questions of %(object)s: from now on only wording changes"),
    "questions.section_added": N_("%(actor)s added the section %(object)s"),
    "questions.section_updated": N_("%(actor)s changed the section %(object)s"),
    "questions.section_moved": N_("%(actor)s moved the section %(object)s"),
    "questions.section_removed": N_("%(actor)s removed a section (%(key)s)"),
    "questions.question_added": N_("%(actor)s added the question %(object)s"),
    "questions.question_updated": N_("%(actor)s changed the question %(object)s"),
    "questions.question_moved": N_("%(actor)s moved the question %(object)s"),
    "questions.question_removed": N_("%(actor)s removed a question (%(key)s)"),
    # Accounts
    "auth.registered": N_("%(actor)s created their account"),
    "auth.email_confirmed": N_("%(actor)s confirmed their email address"),
    "auth.password_changed": N_("%(actor)s changed their password"),
    "auth.password_reset_requested": (N_("%(actor)s asked for a password reset link"),
                                      N_("Someone asked for a password reset for an address with no account")),
    "auth.password_reset": N_("%(actor)s set a new password with a reset link"),
    "auth.logged_out_everywhere": N_("%(actor)s logged out of all their devices"),
    "auth.profile_updated": N_("%(actor)s updated the profile of %(object)s"),
    "auth.role_granted": N_("%(actor)s gave %(object)s the %(role)s role"),
    "auth.role_revoked": N_("%(actor)s took the %(role)s role from %(object)s"),
    "auth.account_created": N_("%(actor)s created the account of %(object)s"),
    "auth.invitation_accepted": N_("%(actor)s accepted their invitation and chose a password"),
    "admin.user_invited": N_("%(actor)s invited %(object)s as %(role)s"),
    "admin.invitation_resent": N_("%(actor)s sent %(object)s a new invitation"),
    "admin.user_deactivated": N_("%(actor)s deactivated the account of %(object)s"),
    "admin.user_reactivated": N_("%(actor)s reactivated the account of %(object)s"),
    "admin.password_reset_sent": N_("%(actor)s sent %(object)s a password reset link"),
    "admin.audit_exported": N_("%(actor)s exported %(rows)s audit log entries as CSV"),
    # Calls and applications
    "calls.programme_created": N_("%(actor)s created the programme %(object)s"),
    "calls.programme_updated": N_("%(actor)s edited the programme %(object)s"),
    "calls.call_created": N_("%(actor)s created the call %(object)s"),
    "calls.call_updated": N_("%(actor)s edited the call %(object)s"),
    "applications.started": N_("%(actor)s started %(object)s"),
    "applications.submitted": N_("%(actor)s submitted %(object)s"),
    "applications.viewed": N_("%(actor)s opened %(object)s"),
    "applications.withdrawn": N_("%(actor)s withdrew %(object)s"),
    "applications.exported": N_("%(actor)s exported %(rows)s applications of %(object)s as CSV"),
    "documents.uploaded": N_("%(actor)s uploaded %(object)s"),
    "documents.deleted": N_("%(actor)s removed %(object)s"),
    "referees.added": N_("%(actor)s named %(object)s"),
    "referees.removed": N_("%(actor)s removed %(object)s"),
    "referees.reminded": N_("%(actor)s reminded %(object)s"),
    "referees.letter_received": N_("The letter of %(object)s arrived"),
    "eligibility.call_screened": N_("%(actor)s screened %(screened)s applications of %(object)s: %(eligible)s "
                                    "eligible"),
    "eligibility.overridden": N_("%(actor)s overrode the eligibility of %(object)s"),
    # Selection
    "selection.panel_member_added": N_("%(actor)s added %(object)s"),
    "selection.panel_member_updated": N_("%(actor)s changed the settings of %(object)s"),
    "selection.reviewer_withdrawn": N_("%(actor)s withdrew %(object)s"),
    "selection.assigned": N_("%(actor)s assigned %(object)s"),
    "selection.auto_assigned": N_("%(actor)s assigned reviewers in %(object)s automatically (%(assignments)s "
                                  "assignments)"),
    "selection.unassigned": N_("%(actor)s took back the assignment of %(object)s"),
    "selection.reassigned": N_("%(actor)s gave %(object)s to another reviewer"),
    "selection.round_assigned": N_("%(actor)s assigned %(object)s"),
    "selection.automatic_conflicts_added": N_("%(actor)s found %(added)s conflicts of interest in %(object)s"),
    "selection.conflict_declared": N_("%(actor)s declared a conflict of interest with %(object)s"),
    "selection.recused": N_("%(actor)s stepped back from reviewing %(object)s"),
    "selection.application_viewed": N_("%(actor)s opened %(object)s to review it"),
    "selection.review_submitted": N_("%(actor)s submitted %(object)s"),
    "selection.review_updated": N_("%(actor)s changed %(object)s"),
    "selection.review_reminder_sent": N_("%(actor)s reminded a reviewer of %(pending)s reviews due in %(object)s"),
    "selection.ranking_exported": N_("%(actor)s exported the ranking of %(object)s"),
    "selection.adjusted": N_("%(actor)s adjusted %(object)s in the ranking (%(adjustment)s)"),
    "selection.panel_locked": N_("%(actor)s locked the reviews of %(object)s"),
    "selection.panel_unlocked": N_("%(actor)s reopened the reviews of %(object)s"),
    "selection.decision_recorded": N_("%(actor)s recorded '%(outcome)s' for %(object)s"),
    "selection.decisions_sent": N_("%(actor)s sent the decisions of %(object)s (%(queued)s emails)"),
    "selection.offer_accepted": N_("%(actor)s accepted the offer for %(object)s"),
    "selection.offer_declined": N_("%(actor)s declined the offer for %(object)s"),
    "selection.offer_expired": N_("The offer for %(object)s expired unanswered"),
    "selection.promoted": N_("%(actor)s offered %(object)s a place from the waiting list"),
    # Fellows and alumni
    "fellows.created": N_("%(actor)s opened the fellow record of %(object)s"),
    "fellows.updated": N_("%(actor)s updated the fellow record of %(object)s"),
    "fellows.returned": N_("%(actor)s recorded the return home of %(object)s"),
    "alumni.follow_ups_scheduled": N_("%(actor)s scheduled follow-up surveys for %(object)s"),
    "alumni.follow_ups_daily_run": N_("%(actor)s ran the daily follow-up job"),
    "alumni.follow_up_answered": N_("%(actor)s answered the %(months)s-month follow-up survey"),
    "alumni.career_added": N_("%(actor)s added a position to a career"),
    "alumni.directory_consent": N_("%(actor)s changed the alumni directory consent of %(object)s"),
    "alumni.exported": N_("%(actor)s exported %(rows)s alumni records"),
    "alumni.export_requested": N_("%(actor)s asked for an export of %(rows)s alumni records"),
    "alumni.export_built": N_("%(actor)s finished %(object)s"),
    # Outbox
    "notifications.resent": N_("%(actor)s sent the email to %(recipient)s again"),
    "notifications.bulk_resent": N_("%(actor)s sent %(count)s failed emails again"),
    # Interviews (the object names the candidate's reference and the stage, or the stage and its call)
    "interviews.slot_created": N_("%(actor)s added the interview slot %(object)s"),
    "interviews.booked": N_("%(actor)s booked an interview for %(object)s"),
    "interviews.rescheduled": N_("%(actor)s moved the interview of %(object)s to another time"),
    "interviews.cancelled": N_("%(actor)s cancelled the interview of %(object)s"),
    "interviews.no_show": N_("%(actor)s recorded that %(object)s did not come to the interview"),
    "interviews.scored": N_("%(actor)s scored the interview of %(object)s"),
    "interviews.panel_member_added": N_("%(actor)s added an interviewer to %(object)s"),
    "interviews.criterion_added": N_("%(actor)s added the criterion “%(name)s” to the rubric of %(object)s"),
    "interviews.notes_questionnaire_started": N_("%(actor)s gave %(object)s questions for the interview notes"),
    "interviews.notes_question_added": N_("%(actor)s added the notes question “%(label)s” to %(object)s"),
    "interviews.notes_question_removed": N_("%(actor)s removed the notes question “%(label)s” from %(object)s"),
}

#: Each action's name in the filter, a message (English) translated when shown.
ACTION_NAMES: dict[str, str] = {
    "auth.registered": N_("Registered"),
    "auth.email_confirmed": N_("Email confirmed"),
    "auth.password_changed": N_("Password changed"),
    "auth.password_reset_requested": N_("Password reset requested"),
    "auth.password_reset": N_("Password reset"),
    "auth.logged_out_everywhere": N_("Logged out everywhere"),
    "auth.profile_updated": N_("Profile updated"),
    "auth.role_granted": N_("Role granted"),
    "auth.role_revoked": N_("Role revoked"),
    "auth.account_created": N_("Account created"),
    "auth.invitation_accepted": N_("Invitation accepted"),
    "admin.user_invited": N_("User invited"),
    "admin.invitation_resent": N_("Invitation resent"),
    "admin.user_deactivated": N_("User deactivated"),
    "admin.user_reactivated": N_("User reactivated"),
    "admin.password_reset_sent": N_("Password reset sent"),
    "admin.audit_exported": N_("Audit exported"),
    "calls.programme_created": N_("Programme created"),
    "calls.programme_updated": N_("Programme updated"),
    "calls.call_created": N_("Call created"),
    "calls.call_updated": N_("Call updated"),
    "applications.started": N_("Started"),
    "applications.submitted": N_("Submitted"),
    "applications.viewed": N_("Viewed"),
    "applications.withdrawn": N_("Withdrawn"),
    "applications.exported": N_("Exported"),
    "documents.uploaded": N_("Uploaded"),
    "documents.deleted": N_("Deleted"),
    "referees.added": N_("Added"),
    "referees.removed": N_("Removed"),
    "referees.reminded": N_("Reminded"),
    "referees.letter_received": N_("Letter received"),
    "eligibility.call_screened": N_("Call screened"),
    "eligibility.overridden": N_("Overridden"),
    "selection.panel_member_added": N_("Panel member added"),
    "selection.panel_member_updated": N_("Panel member updated"),
    "selection.reviewer_withdrawn": N_("Reviewer withdrawn"),
    "selection.assigned": N_("Assigned"),
    "selection.auto_assigned": N_("Auto assigned"),
    "selection.unassigned": N_("Unassigned"),
    "selection.reassigned": N_("Reassigned"),
    "selection.automatic_conflicts_added": N_("Automatic conflicts added"),
    "selection.conflict_declared": N_("Conflict declared"),
    "selection.recused": N_("Recused"),
    "selection.application_viewed": N_("Application viewed"),
    "selection.review_submitted": N_("Review submitted"),
    "selection.review_updated": N_("Review updated"),
    "selection.review_reminder_sent": N_("Review reminder sent"),
    "selection.ranking_exported": N_("Ranking exported"),
    "selection.adjusted": N_("Adjusted"),
    "selection.panel_locked": N_("Panel locked"),
    "selection.panel_unlocked": N_("Panel unlocked"),
    "selection.decision_recorded": N_("Decision recorded"),
    "selection.decisions_sent": N_("Decisions sent"),
    "selection.offer_accepted": N_("Offer accepted"),
    "selection.offer_declined": N_("Offer declined"),
    "selection.offer_expired": N_("Offer expired"),
    "selection.promoted": N_("Promoted"),
    "fellows.created": N_("Created"),
    "fellows.updated": N_("Updated"),
    "fellows.returned": N_("Returned"),
    "alumni.follow_ups_scheduled": N_("Follow ups scheduled"),
    "alumni.follow_ups_daily_run": N_("Follow ups daily run"),
    "alumni.follow_up_answered": N_("Follow up answered"),
    "alumni.career_added": N_("Career added"),
    "alumni.directory_consent": N_("Directory consent"),
    "alumni.exported": N_("Exported"),
    "alumni.export_requested": N_("Export requested"),
    "alumni.export_built": N_("Export built"),
    "notifications.resent": N_("Resent"),
    "notifications.bulk_resent": N_("Bulk resent"),
    "auth.locale_changed": N_("Language changed"),
    "calls.form_copied": N_("Application form copied"),
    "calls.form_started": N_("Application form started"),
    "calls.translations_saved": N_("Translations saved"),
    "questions.questionnaire_created": N_("Form created"),
    "questions.questionnaire_copied": N_("Form copied"),
    "questions.structure_locked": N_("Form structure locked"),
    "questions.section_added": N_("Section added"),
    "questions.section_updated": N_("Section updated"),
    "questions.section_moved": N_("Section moved"),
    "questions.section_removed": N_("Section removed"),
    "questions.question_added": N_("Question added"),
    "questions.question_updated": N_("Question updated"),
    "questions.question_moved": N_("Question moved"),
    "questions.question_removed": N_("Question removed"),
    "referees.invited_at_shortlist": N_("Referees invited at the shortlist"),
    "referees.locale_changed": N_("Referee's language changed"),
    "selection.references_at_shortlist": N_("References asked for at the shortlist"),
    "selection.stage_added": N_("Stage added"),
    "selection.stage_changed": N_("Stage changed"),
    "selection.stage_removed": N_("Stage removed"),
    "selection.stage_weights_set": N_("Stage weights set"),
    "selection.stage_adjusted": N_("Stage adjusted"),
    "selection.stage_advanced": N_("Stage advanced"),
    "selection.stage_outcome_sent": N_("Stage outcome sent"),
    "selection.round_member_added": N_("Review round member added"),
    "selection.round_criterion_added": N_("Review round criterion added"),
    "selection.round_assigned": N_("Review round assigned"),
    "selection.round_auto_assigned": N_("Review round auto assigned"),
    "selection.round_review_submitted": N_("Review round review submitted"),
    "interviews.panel_member_added": N_("Interview panel member added"),
    "interviews.criterion_added": N_("Interview criterion added"),
    "interviews.slot_created": N_("Interview slot created"),
    "interviews.booked": N_("Interview booked"),
    "interviews.rescheduled": N_("Interview rescheduled"),
    "interviews.cancelled": N_("Interview cancelled"),
    "interviews.no_show": N_("Interview no-show"),
    "interviews.scored": N_("Interview scored"),
    "interviews.notes_questionnaire_started": N_("Interview notes questions started"),
    "interviews.notes_question_added": N_("Interview notes question added"),
    "interviews.notes_question_removed": N_("Interview notes question removed"),
}

#: Each detail's name where an entry shows the details its sentence does not say (the values are data, shown as
#: recorded); a key not listed reads as itself made readable.
DETAIL_LABELS: dict[str, str] = {
    "account": N_("account"), "actual_return_date": N_("actual return date"), "added": N_("added"),
    "adjustment": N_("adjustment"), "advanced": N_("advanced"), "after": N_("after"),
    "application_id": N_("application id"), "applications": N_("applications"), "assignment_id": N_("assignment id"),
    "assignments": N_("assignments"), "batch": N_("batch"), "before": N_("before"), "by_staff": N_("by staff"),
    "call_id": N_("call id"), "cap": N_("cap"), "career_entry_id": N_("career entry id"),
    "changed": N_("changed"), "changes": N_("changes"), "closed_entry_id": N_("closed entry id"),
    "conflict_id": N_("conflict id"), "consent": N_("consent"), "count": N_("count"), "day": N_("day"),
    "digest_sent": N_("digest sent"), "document_id": N_("document id"), "eligible": N_("eligible"),
    "email": N_("email"), "emails": N_("emails"), "fellow_id": N_("fellow id"), "filename": N_("file name"),
    "filters": N_("filters"), "follow_up_id": N_("follow-up id"), "format": N_("format"),
    "freed_offer_id": N_("freed offer id"), "ineligible": N_("ineligible"), "institution": N_("institution"),
    "key": N_("key"), "kind": N_("kind"), "lapsed": N_("lapsed"), "locale": N_("language"),
    "lost_contact": N_("lost contact"), "months": N_("months"), "name": N_("name"),
    "nationality": N_("nationality"), "new_override": N_("new override"), "new_status": N_("new status"),
    "not_advanced": N_("not advanced"), "note": N_("note"), "offer_id": N_("offer id"), "offset": N_("offset"),
    "old_override": N_("old override"), "old_status": N_("old status"), "outcome": N_("outcome"),
    "overdue": N_("overdue"), "pending": N_("pending"), "position": N_("position"), "previous": N_("previous"),
    "questionnaire_id": N_("questionnaire id"), "queued": N_("queued"), "reason": N_("reason"),
    "from_reviewer_id": N_("from reviewer id"), "to_reviewer_ids": N_("to reviewer ids"),
    "template": N_("template"),
    "recipient": N_("recipient"), "recommendation": N_("recommendation"), "recovered": N_("recovered"),
    "referee_id": N_("referee id"), "referees_invited": N_("referees invited"), "reference": N_("reference"),
    "reminded": N_("reminded"), "reminder": N_("reminder"), "replaced": N_("replaced"),
    "returned_on": N_("returned on"), "reviewer_id": N_("reviewer id"), "role": N_("role"), "roles": N_("roles"),
    "rows": N_("rows"), "rules_result": N_("rules result"), "scores": N_("scores"), "screened": N_("screened"),
    "sent": N_("sent"), "sha256": N_("SHA-256"), "shortfalls": N_("shortfalls"), "size": N_("size"),
    "slot_id": N_("slot id"), "sort": N_("sort"), "source": N_("source"), "source_call_id": N_("source call id"),
    "source_id": N_("source id"), "stage_assignment_id": N_("stage assignment id"), "stage_id": N_("stage id"),
    "status": N_("status"), "time_zone": N_("time zone"), "title": N_("title"), "user_id": N_("user id"),
    "value": N_("value"), "weight": N_("weight"), "weighted_score": N_("weighted score"),
    "withdrawn_from": N_("withdrawn from"), "booking_id": N_("booking id"), "mode": N_("mode"),
    "criterion_id": N_("criterion id"), "round_id": N_("round id"),
}

#: The areas (first part of an action) as the filter names them.
AREAS: dict[str, str] = {
    "auth": N_("Accounts"), "admin": N_("Administration"), "calls": N_("Programmes and calls"),
    "applications": N_("Applications"), "documents": N_("Documents"), "referees": N_("Referees"),
    "eligibility": N_("Eligibility"), "selection": N_("Selection"), "fellows": N_("Fellows"), "alumni": N_("Alumni"),
    "notifications": N_("Outbox"), "questions": N_("Application forms"), "interviews": N_("Interviews"),
}

#: Who acted when nobody did (a task or a command); translated where shown.
SYSTEM = N_("The system")
#: A placeholder of a sentence: %(actor)s, %(object)s or a detail's %(name)s.
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")
#: Entries of the CSV export read and named per batch.
EXPORT_BATCH = 500


def readable_action(action: str) -> str:
    """'selection.panel_locked' -> 'Panel locked': the action's name in the reader's language (ACTION_NAMES), or
    its identifier made readable for an action the registry does not know."""
    if action in ACTION_NAMES:
        return _(ACTION_NAMES[action])
    verb = action.rsplit(".", 1)[-1].replace("_", " ").strip() or action
    return verb[:1].upper() + verb[1:]


def action_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """(area label, [(value, label)]) for the "kind of action" filter: each area as a whole, then its actions."""
    grouped: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for action in sorted(SENTENCES):
        grouped[action.split(".", 1)[0]].append((action, readable_action(action)))
    return [(_(AREAS[area]) if area in AREAS else area.title(),
             [(f"{area}.", _("All %(area)s actions", area=(_(AREAS[area]) if area in AREAS else area).lower())),
              *actions])
            for area, actions in grouped.items()]


# --- Naming the objects ------------------------------------------------------------------------------------------

def _reference(reference: str | None, application_id: int) -> str:
    return reference or _("draft application #%(id)d", id=application_id)


def _names_of_users(ids: Sequence[int]) -> dict[int, str]:
    rows = db.session.execute(select(User.id, User.full_name).where(User.id.in_(ids)))
    return {row.id: row.full_name for row in rows}


def _names_of_applications(ids: Sequence[int]) -> dict[int, str]:
    rows = db.session.execute(select(Application.id, Application.reference).where(Application.id.in_(ids)))
    return {row.id: _reference(row.reference, row.id) for row in rows}


def _names_of_calls(ids: Sequence[int]) -> dict[int, str]:
    return {i: f"“{title}”" for i, title in db.session.execute(select(Call.id, Call.title).where(Call.id.in_(ids)))}


def _names_of_programmes(ids: Sequence[int]) -> dict[int, str]:
    rows = db.session.execute(select(Programme.id, Programme.name).where(Programme.id.in_(ids)))
    return {i: f"“{name}”" for i, name in rows}


def _names_of_documents(ids: Sequence[int]) -> dict[int, str]:
    rows = db.session.execute(select(Document.id, Document.filename, Application.id.label("aid"),
                                     Application.reference).join(Application, Application.id == Document.application_id)
                              .where(Document.id.in_(ids)))
    return {row.id: _("the document “%(filename)s” of %(application)s", filename=row.filename,
                      application=_reference(row.reference, row.aid)) for row in rows}


def _names_of_referees(ids: Sequence[int]) -> dict[int, str]:
    rows = db.session.execute(select(Referee.id, Referee.name, Application.id.label("aid"), Application.reference)
                              .join(Application, Application.id == Referee.application_id)
                              .where(Referee.id.in_(ids)))
    return {row.id: _("referee %(name)s of %(application)s", name=row.name,
                      application=_reference(row.reference, row.aid)) for row in rows}


def _reviewer_and_application(model: Any) -> Callable[[Sequence[int]], dict[int, str]]:
    """Names of rows that tie a reviewer to an application (assignments, reviews, conflicts)."""
    reviewer = aliased(User)
    templates = {Assignment: N_("%(ref)s to %(name)s"), Review: N_("the review of %(ref)s by %(name)s"),
                 Conflict: "%(ref)s", StageAssignment: N_("%(ref)s to %(name)s")}

    def names(ids: Sequence[int]) -> dict[int, str]:
        rows = db.session.execute(
            select(model.id, reviewer.full_name, Application.id.label("aid"), Application.reference)
            .join(Application, Application.id == model.application_id).join(reviewer, reviewer.id == model.reviewer_id)
            .where(model.id.in_(ids)))
        return {row.id: _(templates[model], ref=_reference(row.reference, row.aid), name=row.full_name)
                for row in rows}

    return names


def _names_of_panel_members(ids: Sequence[int]) -> dict[int, str]:
    rows = db.session.execute(select(CallReviewer.id, User.full_name, Call.title)
                              .join(User, User.id == CallReviewer.reviewer_id)
                              .join(Call, Call.id == CallReviewer.call_id).where(CallReviewer.id.in_(ids)))
    return {row.id: _("%(name)s to the panel of “%(title)s”", name=row.full_name, title=row.title) for row in rows}


def _names_of_fellows(ids: Sequence[int]) -> dict[int, str]:
    rows = db.session.execute(select(Fellow.id, User.full_name)
                              .join(Application, Application.id == Fellow.application_id)
                              .join(User, User.id == Application.applicant_id).where(Fellow.id.in_(ids)))
    return {row.id: row.full_name for row in rows}


def _names_of_follow_ups(ids: Sequence[int]) -> dict[int, str]:
    rows = db.session.execute(select(FollowUp.id, FollowUp.months_after_return, User.full_name)
                              .join(Fellow, Fellow.id == FollowUp.fellow_id)
                              .join(Application, Application.id == Fellow.application_id)
                              .join(User, User.id == Application.applicant_id).where(FollowUp.id.in_(ids)))
    return {row.id: _("the %(months)d-month follow-up of %(name)s", months=row.months_after_return,
                      name=row.full_name) for row in rows}


def _names_of_messages(ids: Sequence[int]) -> dict[int, str]:
    rows = db.session.execute(select(OutboxMessage.id, OutboxMessage.recipient).where(OutboxMessage.id.in_(ids)))
    return {i: _("the email to %(recipient)s", recipient=recipient) for i, recipient in rows}


def _names_of_export_jobs(ids: Sequence[int]) -> dict[int, str]:
    return {i: _("export #%(id)d", id=i) for i in db.session.scalars(select(ExportJob.id).where(ExportJob.id.in_(ids)))}


def _names_of_stages(ids: Sequence[int]) -> dict[int, str]:
    rows = db.session.execute(select(SelectionStage.id, SelectionStage.name, Call.title)
                              .join(Call, Call.id == SelectionStage.call_id).where(SelectionStage.id.in_(ids)))
    return {row.id: _("the stage “%(stage)s” of “%(title)s”", stage=stage_name(row.name), title=row.title)
            for row in rows}


def _candidate_in_stage(model: Any) -> Callable[[Sequence[int]], dict[int, str]]:
    """Names of interview bookings and scores: the candidate's reference and the interview stage."""

    def names(ids: Sequence[int]) -> dict[int, str]:
        rows = db.session.execute(
            select(model.id, Application.id.label("aid"), Application.reference, SelectionStage.name)
            .join(Application, Application.id == model.application_id)
            .join(SelectionStage, SelectionStage.id == model.stage_id).where(model.id.in_(ids)))
        return {row.id: _("%(reference)s (%(stage)s)", reference=_reference(row.reference, row.aid),
                          stage=stage_name(row.name)) for row in rows}

    return names


def _names_of_slots(ids: Sequence[int]) -> dict[int, str]:
    rows = db.session.execute(select(InterviewSlot.id, InterviewSlot.starts_at, SelectionStage.name)
                              .join(SelectionStage, SelectionStage.id == InterviewSlot.stage_id)
                              .where(InterviewSlot.id.in_(ids)))
    return {row.id: _("%(stage)s, %(when)s UTC", stage=stage_name(row.name),
                      when=row.starts_at.strftime("%Y-%m-%d %H:%M"))
            for row in rows}


def _form_name(questionnaire_id: int, title: Any, call_title: str | None) -> str:
    if call_title:
        return _("the application form of “%(title)s”", title=call_title)
    return _("the form “%(title)s”", title=Texts.of(title).get_for(current_locale()))


def _names_of_questionnaires(ids: Sequence[int]) -> dict[int, str]:
    rows = db.session.execute(select(Questionnaire.id, Questionnaire.title, Call.title.label("call_title"))
                              .outerjoin(Call, Call.questionnaire_id == Questionnaire.id)
                              .where(Questionnaire.id.in_(ids)))
    return {row.id: _form_name(row.id, row.title, row.call_title) for row in rows}


def _names_of_form_parts(model: Any, text: Any) -> Callable[[Sequence[int]], dict[int, str]]:
    """Names of a form's sections or questions: their title or label, in the reader's language."""

    def names(ids: Sequence[int]) -> dict[int, str]:
        rows = db.session.execute(select(model.id, text.label("text")).where(model.id.in_(ids)))
        return {row.id: _("“%(text)s”", text=Texts.of(row.text).get_for(current_locale())) for row in rows}

    return names


@dataclass(frozen=True)
class ObjectKind:
    """A kind of audited object: its label, how to name a page's worth in one query, what the filter searches."""

    #: A message (English), translated where shown (`label`).
    message: str
    names: Callable[[Sequence[int]], dict[int, str]]
    #: ids of the objects whose name, reference or email contains a text (for the "object" filter), or None.
    search: Callable[[str], Select[Any]] | None = None

    @property
    def label(self) -> str:
        return _(self.message)


def _search_users(text: str) -> Select[Any]:
    return select(User.id).where(or_(func.lower(User.full_name).contains(text, autoescape=True),
                                     User.email.contains(text, autoescape=True)))


def _search_applications(text: str) -> Select[Any]:
    return select(Application.id).where(func.lower(Application.reference).contains(text, autoescape=True))


def _search_calls(text: str) -> Select[Any]:
    return select(Call.id).where(func.lower(Call.title).contains(text, autoescape=True))


def _search_programmes(text: str) -> Select[Any]:
    return select(Programme.id).where(func.lower(Programme.name).contains(text, autoescape=True))


#: Keyed by the audit entry's object_type (the model's class name).
OBJECT_KINDS: dict[str, ObjectKind] = {
    "User": ObjectKind(N_("Account"), _names_of_users, _search_users),
    "Application": ObjectKind(N_("Application"), _names_of_applications, _search_applications),
    "Call": ObjectKind(N_("Call"), _names_of_calls, _search_calls),
    "Programme": ObjectKind(N_("Programme"), _names_of_programmes, _search_programmes),
    "Document": ObjectKind(N_("Document"), _names_of_documents),
    "Referee": ObjectKind(N_("Referee"), _names_of_referees),
    "Assignment": ObjectKind(N_("Review assignment"), _reviewer_and_application(Assignment)),
    "StageAssignment": ObjectKind(N_("Review round assignment"), _reviewer_and_application(StageAssignment)),
    "Review": ObjectKind(N_("Review"), _reviewer_and_application(Review)),
    "Conflict": ObjectKind(N_("Conflict of interest"), _reviewer_and_application(Conflict)),
    "CallReviewer": ObjectKind(N_("Panel member"), _names_of_panel_members),
    "Fellow": ObjectKind(N_("Fellow"), _names_of_fellows),
    "FollowUp": ObjectKind(N_("Follow-up survey"), _names_of_follow_ups),
    "OutboxMessage": ObjectKind(N_("Email"), _names_of_messages),
    "ExportJob": ObjectKind(N_("Export"), _names_of_export_jobs),
    "SelectionStage": ObjectKind(N_("Selection stage"), _names_of_stages),
    "InterviewSlot": ObjectKind(N_("Interview slot"), _names_of_slots),
    "Questionnaire": ObjectKind(N_("Form"), _names_of_questionnaires),
    "QuestionnaireSection": ObjectKind(N_("Form section"),
                                       _names_of_form_parts(QuestionnaireSection, QuestionnaireSection.title)),
    "Question": ObjectKind(N_("Question"), _names_of_form_parts(Question, Question.label)),
    "InterviewBooking": ObjectKind(N_("Interview booking"), _candidate_in_stage(InterviewBooking)),
    "InterviewScore": ObjectKind(N_("Interview score"), _candidate_in_stage(InterviewScore)),
}


def object_names(entries: Sequence[AuditEntry]) -> dict[tuple[str, int], str]:
    """(object_type, object_id) -> name for the entries' objects: one query per kind of object among them."""
    wanted: dict[str, set[int]] = defaultdict(set)
    for entry in entries:
        if entry.object_type and entry.object_id is not None:
            wanted[entry.object_type].add(entry.object_id)
    names: dict[tuple[str, int], str] = {}
    for object_type, ids in wanted.items():
        kind = OBJECT_KINDS.get(object_type)
        found = kind.names(sorted(ids)) if kind else {}
        for object_id in ids:
            label = kind.label.lower() if kind else readable_action(object_type).lower()
            names[(object_type, object_id)] = found.get(object_id) or _("%(kind)s #%(id)d (deleted)", kind=label,
                                                                          id=object_id)
    return names


# --- Sentences ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Part:
    """A piece of a sentence: plain text, or the actor or object (which the page links to a filter)."""

    text: str
    role: str = "text"  # "text", "actor", "object" or "value"


@dataclass(frozen=True)
class Described:
    entry: AuditEntry
    parts: tuple[Part, ...]
    #: Details the sentence did not mention, for the small print.
    other_details: dict[str, Any] = field(default_factory=dict)

    @property
    def sentence(self) -> str:
        return "".join(part.text for part in self.parts)

    @property
    def detail_lines(self) -> list[tuple[str, str]]:
        """(the detail's name in the reader's language, its recorded value as text) for the small print."""
        return [(detail_label(key), value if isinstance(value, str) else json.dumps(value, ensure_ascii=False,
                                                                                     default=str))
                for key, value in self.other_details.items()]


def detail_label(key: str) -> str:
    """A recorded detail's name in the reader's language ("actual_return_date" -> "actual return date")."""
    return _(DETAIL_LABELS[key]) if key in DETAIL_LABELS else key.replace("_", " ")


def _detail_text(value: Any, name: str = "", action: str = "") -> str:
    if name == "outcome" and action == "selection.decision_recorded" and value in {o.value for o in DecisionOutcome}:
        return str(DecisionOutcome(value).label)  # "accept" recorded, "Accept" read in the reader's language
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return "" if value is None else str(value)


def describe(entry: AuditEntry, names: Mapping[tuple[str, int], str], actor_name: str | None) -> Described:
    """The entry as a sentence ("Sora Staff recorded 'accept' for ELF-2026-00012"), with its remaining details."""
    details = dict(entry.details or {})
    object_name = (names.get((entry.object_type, entry.object_id)) if entry.object_type and entry.object_id
                   is not None else None)
    message = SENTENCES.get(entry.action)
    if isinstance(message, tuple):
        message = message[0] if object_name or actor_name else message[1]
    template = _(message) if message is not None else None  # in the reader's language
    fields = _PLACEHOLDER.findall(template or "")
    usable = template is not None and all(
        name in ("actor", "object") or details.get(name) not in (None, "") for name in fields
    ) and ("object" not in fields or object_name)
    if not usable:  # unknown action, or a detail the sentence needs is missing: the action's own name
        action = readable_action(entry.action).lower().replace("%", "%%")
        template = (_("%(actor)s: %(action)s — %(object)s") if object_name else _("%(actor)s: %(action)s")).replace(
            "%(action)s", action)
        fields = ["actor", "object"] if object_name else ["actor"]
    assert template is not None
    parts: list[Part] = []
    # The sentence's literal text between placeholders ("%%" is a percent sign), and each placeholder filled.
    pieces = _PLACEHOLDER.split(template)
    for index, piece in enumerate(pieces):
        if index % 2 == 0:
            if piece:
                parts.append(Part(piece.replace("%%", "%")))
            continue
        name = piece
        if name == "actor":
            parts.append(Part(actor_name or _(SYSTEM), "actor" if actor_name else "text"))
        elif name == "object":
            parts.append(Part(object_name or "", "object"))
        elif name:
            parts.append(Part(_detail_text(details.get(name), name, entry.action), "value"))
    other = {k: v for k, v in details.items() if k not in fields}
    return Described(entry=entry, parts=tuple(parts), other_details=other)


def describe_all(entries: Sequence[AuditEntry]) -> list[Described]:
    """Sentences for a page of entries whose actors were loaded with them (one query per kind of object)."""
    names = object_names(entries)
    return [describe(entry, names, entry.actor.full_name if entry.actor else None) for entry in entries]


# --- Filters -------------------------------------------------------------------------------------------------------

def _parse_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


@dataclass(frozen=True)
class AuditFilters:
    """What the audit log is narrowed to, read from the query string (the page's GET form and its links)."""

    who: str = ""
    actor_id: int | None = None
    object_type: str = ""
    object_text: str = ""
    object_id: int | None = None
    action: str = ""
    since: str = ""
    until: str = ""
    #: The viewer's zone: dates are whole days there.
    zone: str = "UTC"
    problems: tuple[str, ...] = ()

    @classmethod
    def from_args(cls, args: Mapping[str, str], zone: str | None) -> AuditFilters:
        def number(name: str) -> int | None:
            value = (args.get(name) or "").strip()
            return int(value) if value.isdigit() and len(value) <= 18 else None

        problems = []
        since, until = (args.get("since") or "").strip(), (args.get("until") or "").strip()
        for label, value in ((_("From"), since), (_("To"), until)):
            if value and _parse_date(value) is None:
                problems.append(_("“%(field)s” must be a date such as 2026-03-14; it was left out.", field=label))
        object_type = (args.get("object_type") or "").strip()
        return cls(who=(args.get("who") or "").strip(), actor_id=number("actor_id"),
                   object_type=object_type if object_type in OBJECT_KINDS else "",
                   object_text=(args.get("object") or "").strip(), object_id=number("object_id"),
                   action=(args.get("action") or "").strip(), since=since if _parse_date(since) else "",
                   until=until if _parse_date(until) else "", zone=zone if zone and is_valid_zone(zone) else "UTC",
                   problems=tuple(problems))

    @property
    def active(self) -> bool:
        return any((self.who, self.actor_id, self.object_type, self.object_text, self.object_id, self.action,
                    self.since, self.until))

    def as_args(self) -> dict[str, Any]:
        """The filters as query-string arguments (for the pager, the export link and the CSV's audit entry)."""
        args = {"who": self.who, "actor_id": self.actor_id, "object_type": self.object_type,
                "object": self.object_text, "object_id": self.object_id, "action": self.action,
                "since": self.since, "until": self.until}
        return {k: v for k, v in args.items() if v not in ("", None)}

    def _day_start(self, day: str) -> datetime:
        return datetime.combine(date.fromisoformat(day), datetime.min.time(), ZoneInfo(self.zone))

    def apply(self, stmt: Select[Any]) -> Select[Any]:
        """`stmt` (over AuditEntry) narrowed to these filters; each is one condition, searches are subqueries."""
        conditions = []
        if self.actor_id is not None:
            conditions.append(AuditEntry.actor_id == self.actor_id)
        if self.who:
            conditions.append(AuditEntry.actor_id.in_(_search_users(self.who.lower())))
        if self.object_type:
            conditions.append(AuditEntry.object_type == self.object_type)
        if self.object_id is not None:
            conditions.append(AuditEntry.object_id == self.object_id)
        if self.object_text:
            text = self.object_text.lower()
            kinds = [self.object_type] if self.object_type else list(OBJECT_KINDS)
            searched = [and_(AuditEntry.object_type == kind, AuditEntry.object_id.in_(search(text)))
                        for kind in kinds if (search := OBJECT_KINDS[kind].search) is not None]
            conditions.append(or_(*searched) if searched else false())
        if self.action:
            if self.action in SENTENCES:
                conditions.append(AuditEntry.action == self.action)
            else:  # an area ("selection.") or the start of an action's name
                conditions.append(AuditEntry.action.startswith(self.action, autoescape=True))
        if self.since:
            conditions.append(AuditEntry.created_at >= self._day_start(self.since))
        if self.until:  # the whole day
            conditions.append(AuditEntry.created_at < self._day_start(self.until) + timedelta(days=1))
        return stmt.where(*conditions)


def focus(filters: AuditFilters) -> str:
    """'by Sora Staff about ELF-2026-00012' when the page follows a link from a sentence; '' otherwise."""
    said = []
    if filters.actor_id is not None:
        name = db.session.scalar(select(User.full_name).where(User.id == filters.actor_id))
        said.append(_("by %(name)s", name=name) if name else _("by person #%(id)d", id=filters.actor_id))
    if filters.object_id is not None:
        kind = OBJECT_KINDS.get(filters.object_type)
        name = kind.names([filters.object_id]).get(filters.object_id) if kind else None
        said.append(_("about %(name)s", name=name) if name else _("about object #%(id)d", id=filters.object_id))
    return " ".join(said)


def page_query(filters: AuditFilters) -> Select[Any]:
    """Newest first, with each entry's actor in the same query."""
    return filters.apply(select(AuditEntry).options(joinedload(AuditEntry.actor)).order_by(AuditEntry.id.desc()))


def count(filters: AuditFilters) -> int:
    return db.session.scalar(filters.apply(select(func.count(AuditEntry.id)))) or 0


# --- CSV export ----------------------------------------------------------------------------------------------------

EXPORT_HEADER = (_l("When (UTC)"), _l("Who"), _l("Who (email)"), _l("What happened"), _l("Action"),
                 _l("Object kind"), _l("Object id"), _l("Object"), _l("Other details"))


def export_entry(filters: AuditFilters) -> PendingEntry:
    """The audit entry of an export of the log, with its filters and how many rows it holds."""
    return pending("admin.audit_exported", None, rows=count(filters), filters=filters.as_args())


def export_csv(filters: AuditFilters) -> Iterator[bytes]:
    """The filtered log as UTF-8 CSV with a BOM (for Excel), newest first, read and named in batches (keyset on the
    id, one query per kind of object per batch), cells safe from spreadsheet formulas."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow([str(heading) for heading in EXPORT_HEADER])
    last_id: int | None = None
    while True:
        stmt = page_query(filters).limit(EXPORT_BATCH)
        if last_id is not None:
            stmt = stmt.where(AuditEntry.id < last_id)
        entries = db.session.scalars(stmt).unique().all()
        if not entries:
            break
        for described in describe_all(entries):
            entry = described.entry
            kind = OBJECT_KINDS.get(entry.object_type or "")
            writer.writerow([csv_cell(value) for value in (
                entry.created_at, entry.actor.full_name if entry.actor else _(SYSTEM),
                entry.actor.email if entry.actor else "", described.sentence, entry.action,
                kind.label if kind else entry.object_type, entry.object_id,
                next((p.text for p in described.parts if p.role == "object"), ""),
                json.dumps(described.other_details, ensure_ascii=False, default=str) if described.other_details
                else "")])
        yield buffer.getvalue().encode("utf-8")
        buffer.seek(0)
        buffer.truncate()
        last_id = entries[-1].id
        db.session.expunge_all()  # a long export does not keep every entry it has read
    if buffer.tell():  # no rows: the header alone
        yield buffer.getvalue().encode("utf-8")
