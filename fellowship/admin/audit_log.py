"""The audit log as people read it: sentences, filters, pages and a CSV export.

One registry (`SENTENCES`) maps each action to a sentence template; an action it does not know reads as its own
name made readable ("selection.panel_locked" -> "Panel locked"), so new actions never break the page. Objects are
named by one query per kind of object on a page (or per batch of an export), never one per row.
"""

from __future__ import annotations

import csv
import io
import json
import string
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

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
from fellowship.notifications.models import OutboxMessage
from fellowship.selection.models import Assignment, CallReviewer, Conflict, Review
from fellowship.spreadsheets import csv_cell
from fellowship.timezones import is_valid_zone

#: Sentence per action. {actor} is who acted ("The system" for tasks and commands), {object} the object's name,
#: any other {name} a detail of the entry. A pair is (with an object, without one).
SENTENCES: dict[str, str | tuple[str, str]] = {
    # Accounts
    "auth.registered": "{actor} created their account",
    "auth.email_confirmed": "{actor} confirmed their email address",
    "auth.password_changed": "{actor} changed their password",
    "auth.password_reset_requested": ("{actor} asked for a password reset link",
                                      "Someone asked for a password reset for an address with no account"),
    "auth.password_reset": "{actor} set a new password with a reset link",
    "auth.logged_out_everywhere": "{actor} logged out of all their devices",
    "auth.profile_updated": "{actor} updated the profile of {object}",
    "auth.role_granted": "{actor} gave {object} the {role} role",
    "auth.role_revoked": "{actor} took the {role} role from {object}",
    "auth.account_created": "{actor} created the account of {object}",
    "auth.invitation_accepted": "{actor} accepted their invitation and chose a password",
    "admin.user_invited": "{actor} invited {object} as {role}",
    "admin.invitation_resent": "{actor} sent {object} a new invitation",
    "admin.user_deactivated": "{actor} deactivated the account of {object}",
    "admin.user_reactivated": "{actor} reactivated the account of {object}",
    "admin.password_reset_sent": "{actor} sent {object} a password reset link",
    "admin.audit_exported": "{actor} exported {rows} audit log entries as CSV",
    # Calls and applications
    "calls.programme_created": "{actor} created the programme {object}",
    "calls.programme_updated": "{actor} edited the programme {object}",
    "calls.call_created": "{actor} created the call {object}",
    "calls.call_updated": "{actor} edited the call {object}",
    "applications.started": "{actor} started {object}",
    "applications.submitted": "{actor} submitted {object}",
    "applications.viewed": "{actor} opened {object}",
    "applications.withdrawn": "{actor} withdrew {object}",
    "applications.exported": "{actor} exported {rows} applications of {object} as CSV",
    "documents.uploaded": "{actor} uploaded {object}",
    "documents.deleted": "{actor} removed {object}",
    "referees.added": "{actor} named {object}",
    "referees.removed": "{actor} removed {object}",
    "referees.reminded": "{actor} reminded {object}",
    "referees.letter_received": "The letter of {object} arrived",
    "eligibility.call_screened": "{actor} screened {screened} applications of {object}: {eligible} eligible",
    "eligibility.overridden": "{actor} overrode the eligibility of {object}",
    # Selection
    "selection.panel_member_added": "{actor} added {object}",
    "selection.panel_member_updated": "{actor} changed the settings of {object}",
    "selection.reviewer_withdrawn": "{actor} withdrew {object}",
    "selection.assigned": "{actor} assigned {object}",
    "selection.auto_assigned": "{actor} assigned reviewers in {object} automatically ({assignments} assignments)",
    "selection.unassigned": "{actor} took back the assignment of {object}",
    "selection.automatic_conflicts_added": "{actor} found {added} conflicts of interest in {object}",
    "selection.conflict_declared": "{actor} declared a conflict of interest with {object}",
    "selection.recused": "{actor} stepped back from reviewing {object}",
    "selection.application_viewed": "{actor} opened {object} to review it",
    "selection.review_submitted": "{actor} submitted {object}",
    "selection.review_updated": "{actor} changed {object}",
    "selection.review_reminder_sent": "{actor} reminded a reviewer of {pending} reviews due in {object}",
    "selection.ranking_exported": "{actor} exported the ranking of {object}",
    "selection.adjusted": "{actor} adjusted {object} in the ranking ({adjustment})",
    "selection.panel_locked": "{actor} locked the reviews of {object}",
    "selection.panel_unlocked": "{actor} reopened the reviews of {object}",
    "selection.decision_recorded": "{actor} recorded '{outcome}' for {object}",
    "selection.decisions_sent": "{actor} sent the decisions of {object} ({queued} emails)",
    "selection.offer_accepted": "{actor} accepted the offer for {object}",
    "selection.offer_declined": "{actor} declined the offer for {object}",
    "selection.offer_expired": "The offer for {object} expired unanswered",
    "selection.promoted": "{actor} offered {object} a place from the waiting list",
    # Fellows and alumni
    "fellows.created": "{actor} opened the fellow record of {object}",
    "fellows.updated": "{actor} updated the fellow record of {object}",
    "fellows.returned": "{actor} recorded the return home of {object}",
    "alumni.follow_ups_scheduled": "{actor} scheduled follow-up surveys for {object}",
    "alumni.follow_ups_daily_run": "{actor} ran the daily follow-up job",
    "alumni.follow_up_answered": "{actor} answered the {months}-month follow-up survey",
    "alumni.career_added": "{actor} added a position to a career",
    "alumni.directory_consent": "{actor} changed the alumni directory consent of {object}",
    "alumni.exported": "{actor} exported {rows} alumni records",
    "alumni.export_requested": "{actor} asked for an export of {rows} alumni records",
    "alumni.export_built": "{actor} finished {object}",
    # Outbox
    "notifications.resent": "{actor} sent the email to {recipient} again",
    "notifications.bulk_resent": "{actor} sent {count} failed emails again",
}

#: The areas (first part of an action) as the filter names them.
AREAS: dict[str, str] = {
    "auth": "Accounts", "admin": "Administration", "calls": "Programmes and calls",
    "applications": "Applications", "documents": "Documents", "referees": "Referees",
    "eligibility": "Eligibility", "selection": "Selection", "fellows": "Fellows", "alumni": "Alumni",
    "notifications": "Outbox",
}

SYSTEM = "The system"
#: Entries of the CSV export read and named per batch.
EXPORT_BATCH = 500


def readable_action(action: str) -> str:
    """'selection.panel_locked' -> 'Panel locked': the name of an action the registry has no sentence for."""
    verb = action.rsplit(".", 1)[-1].replace("_", " ").strip() or action
    return verb[:1].upper() + verb[1:]


def action_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """(area label, [(value, label)]) for the "kind of action" filter: each area as a whole, then its actions."""
    grouped: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for action in sorted(SENTENCES):
        grouped[action.split(".", 1)[0]].append((action, readable_action(action)))
    return [(AREAS.get(area, area.title()), [(f"{area}.", f"All {AREAS.get(area, area).lower()} actions"),
                                             *actions])
            for area, actions in grouped.items()]


# --- Naming the objects ------------------------------------------------------------------------------------------

def _reference(reference: str | None, application_id: int) -> str:
    return reference or f"draft application #{application_id}"


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
    return {row.id: f"the document “{row.filename}” of {_reference(row.reference, row.aid)}" for row in rows}


def _names_of_referees(ids: Sequence[int]) -> dict[int, str]:
    rows = db.session.execute(select(Referee.id, Referee.name, Application.id.label("aid"), Application.reference)
                              .join(Application, Application.id == Referee.application_id)
                              .where(Referee.id.in_(ids)))
    return {row.id: f"referee {row.name} of {_reference(row.reference, row.aid)}" for row in rows}


def _reviewer_and_application(model: Any) -> Callable[[Sequence[int]], dict[int, str]]:
    """Names of rows that tie a reviewer to an application (assignments, reviews, conflicts)."""
    reviewer = aliased(User)
    templates = {Assignment: "{ref} to {name}", Review: "the review of {ref} by {name}", Conflict: "{ref}"}

    def names(ids: Sequence[int]) -> dict[int, str]:
        rows = db.session.execute(
            select(model.id, reviewer.full_name, Application.id.label("aid"), Application.reference)
            .join(Application, Application.id == model.application_id).join(reviewer, reviewer.id == model.reviewer_id)
            .where(model.id.in_(ids)))
        return {row.id: templates[model].format(ref=_reference(row.reference, row.aid), name=row.full_name)
                for row in rows}

    return names


def _names_of_panel_members(ids: Sequence[int]) -> dict[int, str]:
    rows = db.session.execute(select(CallReviewer.id, User.full_name, Call.title)
                              .join(User, User.id == CallReviewer.reviewer_id)
                              .join(Call, Call.id == CallReviewer.call_id).where(CallReviewer.id.in_(ids)))
    return {row.id: f"{row.full_name} to the panel of “{row.title}”" for row in rows}


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
    return {row.id: f"the {row.months_after_return}-month follow-up of {row.full_name}" for row in rows}


def _names_of_messages(ids: Sequence[int]) -> dict[int, str]:
    rows = db.session.execute(select(OutboxMessage.id, OutboxMessage.recipient).where(OutboxMessage.id.in_(ids)))
    return {i: f"the email to {recipient}" for i, recipient in rows}


def _names_of_export_jobs(ids: Sequence[int]) -> dict[int, str]:
    return {i: f"export #{i}" for i in db.session.scalars(select(ExportJob.id).where(ExportJob.id.in_(ids)))}


@dataclass(frozen=True)
class ObjectKind:
    """A kind of audited object: its label, how to name a page's worth in one query, what the filter searches."""

    label: str
    names: Callable[[Sequence[int]], dict[int, str]]
    #: ids of the objects whose name, reference or email contains a text (for the "object" filter), or None.
    search: Callable[[str], Select[Any]] | None = None


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
    "User": ObjectKind("Account", _names_of_users, _search_users),
    "Application": ObjectKind("Application", _names_of_applications, _search_applications),
    "Call": ObjectKind("Call", _names_of_calls, _search_calls),
    "Programme": ObjectKind("Programme", _names_of_programmes, _search_programmes),
    "Document": ObjectKind("Document", _names_of_documents),
    "Referee": ObjectKind("Referee", _names_of_referees),
    "Assignment": ObjectKind("Review assignment", _reviewer_and_application(Assignment)),
    "Review": ObjectKind("Review", _reviewer_and_application(Review)),
    "Conflict": ObjectKind("Conflict of interest", _reviewer_and_application(Conflict)),
    "CallReviewer": ObjectKind("Panel member", _names_of_panel_members),
    "Fellow": ObjectKind("Fellow", _names_of_fellows),
    "FollowUp": ObjectKind("Follow-up survey", _names_of_follow_ups),
    "OutboxMessage": ObjectKind("Email", _names_of_messages),
    "ExportJob": ObjectKind("Export", _names_of_export_jobs),
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
            names[(object_type, object_id)] = found.get(object_id) or f"{label} #{object_id} (deleted)"
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


def _detail_text(value: Any) -> str:
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
    template = SENTENCES.get(entry.action)
    if isinstance(template, tuple):
        template = template[0] if object_name or actor_name else template[1]
    fields = [name for _, name, _, _ in string.Formatter().parse(template or "") if name]
    usable = template is not None and all(
        name in ("actor", "object") or details.get(name) not in (None, "") for name in fields
    ) and ("object" not in fields or object_name)
    if not usable:  # unknown action, or a detail the sentence needs is missing: the action's own name
        template = "{actor}: " + readable_action(entry.action).lower() + (" — {object}" if object_name else "")
        fields = ["actor", "object"] if object_name else ["actor"]
    assert template is not None
    parts: list[Part] = []
    for literal, name, _, _ in string.Formatter().parse(template):
        if literal:
            parts.append(Part(literal))
        if name == "actor":
            parts.append(Part(actor_name or SYSTEM, "actor" if actor_name else "text"))
        elif name == "object":
            parts.append(Part(object_name or "", "object"))
        elif name:
            parts.append(Part(_detail_text(details.get(name)), "value"))
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
        for label, value in (("From", since), ("To", until)):
            if value and _parse_date(value) is None:
                problems.append(f"“{label}” must be a date such as 2026-03-14; it was left out.")
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
        said.append(f"by {name or f'person #{filters.actor_id}'}")
    if filters.object_id is not None:
        kind = OBJECT_KINDS.get(filters.object_type)
        name = kind.names([filters.object_id]).get(filters.object_id) if kind else None
        said.append(f"about {name or f'object #{filters.object_id}'}")
    return " ".join(said)


def page_query(filters: AuditFilters) -> Select[Any]:
    """Newest first, with each entry's actor in the same query."""
    return filters.apply(select(AuditEntry).options(joinedload(AuditEntry.actor)).order_by(AuditEntry.id.desc()))


def count(filters: AuditFilters) -> int:
    return db.session.scalar(filters.apply(select(func.count(AuditEntry.id)))) or 0


# --- CSV export ----------------------------------------------------------------------------------------------------

EXPORT_HEADER = ("When (UTC)", "Who", "Who (email)", "What happened", "Action", "Object kind", "Object id",
                 "Object", "Other details")


def export_entry(filters: AuditFilters) -> PendingEntry:
    """The audit entry of an export of the log, with its filters and how many rows it holds."""
    return pending("admin.audit_exported", None, rows=count(filters), filters=filters.as_args())


def export_csv(filters: AuditFilters) -> Iterator[bytes]:
    """The filtered log as UTF-8 CSV with a BOM (for Excel), newest first, read and named in batches (keyset on the
    id, one query per kind of object per batch), cells safe from spreadsheet formulas."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(EXPORT_HEADER)
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
                entry.created_at, entry.actor.full_name if entry.actor else SYSTEM,
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
