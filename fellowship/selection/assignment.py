"""Who reviews what: the balanced assignment plan (a pure function), the panel, and assignment operations."""

from __future__ import annotations

import logging
from collections import Counter, defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import Select, exists, func, insert, select, update

from fellowship.applications.models import Application, ApplicationStatus
from fellowship.audit.services import record
from fellowship.auth.models import Role, User
from fellowship.calls import services as calls_services
from fellowship.calls.models import Call
from fellowship.errors import DomainError
from fellowship.extensions import db
from fellowship.geo import is_country
from fellowship.models import utcnow
from fellowship.notifications.services import public_link, queue_email
from fellowship.selection.conflicts import apply_automatic_conflicts, conflicted_pairs
from fellowship.selection.models import (
    Assignment,
    AssignmentStatus,
    CallReviewer,
    Conflict,
    Review,
    ReviewStatus,
)
from fellowship.selection.scores import recompute_call
from fellowship.timezones import format_for_viewer

log = logging.getLogger(__name__)

#: Days reviewers get when the call sets no review due date.
DEFAULT_REVIEW_DAYS = 21
#: Where reviewers find their assignments (the reviewing pages).
REVIEWS_PATH = "/review"

Pair = tuple[int, int]  #: (application_id, reviewer_id)


# --- The plan: a pure function, property-tested --------------------------------------------------------------


@dataclass(frozen=True)
class ReviewerCapacity:
    """A panel member's cap (None: no cap) and how many active assignments they hold in the call already."""

    cap: int | None
    current_load: int = 0

    @property
    def spare(self) -> int | None:
        """Assignments they can still take (None: unlimited)."""
        return None if self.cap is None else max(self.cap - self.current_load, 0)


@dataclass
class AssignmentPlan:
    """New (application, reviewer) pairs; applications left short of k reviewers, with why."""

    pairs: list[Pair] = field(default_factory=list)
    #: application id -> how many reviewers it still lacks.
    shortfalls: dict[int, int] = field(default_factory=dict)
    #: application id -> a sentence saying why it is short.
    explanations: dict[int, str] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return not self.shortfalls

    def per_reviewer(self) -> Counter[int]:
        return Counter(reviewer for _, reviewer in self.pairs)


class _Planner:
    """State of one planning run: loads, who is on which application, what is new (and so movable)."""

    def __init__(self, applications: Iterable[int], reviewers: dict[int, ReviewerCapacity], existing: set[Pair],
                 blocked: set[Pair], k: int) -> None:
        self.apps = sorted(set(applications))
        self.reviewer_ids = sorted(reviewers)
        self.cap = {r: reviewers[r].cap for r in self.reviewer_ids}
        self.load = {r: reviewers[r].current_load for r in self.reviewer_ids}
        app_set = set(self.apps)
        self.on: dict[int, set[int]] = {a: set() for a in self.apps}
        for a, r in existing:
            if a in app_set:
                self.on[a].add(r)
        self.blocked: dict[int, set[int]] = {a: set() for a in self.apps}
        for a, r in blocked:
            if a in app_set:
                self.blocked[a].add(r)
        # Existing reviewers count towards k, unless they are blocked (the caller withdraws those).
        self.need = {a: max(k - len(self.on[a] - self.blocked[a]), 0) for a in self.apps}
        self.new: dict[int, set[int]] = {a: set() for a in self.apps}
        self.new_of: dict[int, set[int]] = defaultdict(set)

    def has_room(self, r: int) -> bool:
        cap = self.cap[r]
        return cap is None or self.load[r] < cap

    def may_take(self, a: int, r: int) -> bool:
        """Not on the application yet, not blocked from it (ignores capacity)."""
        return r not in self.on[a] and r not in self.blocked[a]

    def missing(self, a: int) -> int:
        return self.need[a] - len(self.new[a])

    def add(self, a: int, r: int) -> None:
        self.on[a].add(r)
        self.new[a].add(r)
        self.new_of[r].add(a)
        self.load[r] += 1

    def remove(self, a: int, r: int) -> None:
        self.on[a].discard(r)
        self.new[a].discard(r)
        self.new_of[r].discard(a)
        self.load[r] -= 1

    def greedy(self) -> None:
        """Most constrained applications first; each takes the least-loaded reviewers (ties: lowest id)."""
        def options(a: int) -> int:
            return sum(1 for r in self.reviewer_ids if self.may_take(a, r))

        for a in sorted(self.apps, key=lambda a: (options(a), a)):
            if self.need[a] == 0:
                continue
            candidates = sorted((r for r in self.reviewer_ids if self.may_take(a, r) and self.has_room(r)),
                                key=lambda r: (self.load[r], r))
            for r in candidates[:self.need[a]]:
                self.add(a, r)

    def augment(self) -> None:
        """Fill what greedy left short by moving new assignments along alternating paths (max flow)."""
        dead: set[tuple[str, int]] = set()  # nodes that reach no spare capacity, until the graph changes
        for a in self.apps:
            while self.missing(a) > 0:
                if not any(self.has_room(r) for r in self.reviewer_ids):
                    return
                path = self._augmenting_path(a, dead)
                if path is None:
                    break
                dead.clear()
                # path: [r1, b1, r2, b2, ..., rn]: a takes r1, each b_i moves from r_i to r_(i+1);
                # every r_i keeps its load (one out, one in) and rn, the one with room, gains one.
                self.add(a, path[0])
                for i in range(1, len(path), 2):
                    self.remove(path[i], path[i - 1])
                    self.add(path[i], path[i + 1])

    def _augmenting_path(self, start: int, dead: set[tuple[str, int]]) -> list[int] | None:
        parent: dict[tuple[str, int], tuple[str, int] | None] = {("a", start): None}
        queue: deque[tuple[str, int]] = deque([("a", start)])
        while queue:
            kind, node = queue.popleft()
            if kind == "a":
                for r in self.reviewer_ids:
                    key = ("r", r)
                    if key in parent or key in dead or not self.may_take(node, r):
                        continue
                    parent[key] = (kind, node)
                    if self.has_room(r):
                        return self._unwind(key, parent)
                    queue.append(key)
            else:
                for b in sorted(self.new_of[node]):
                    key = ("a", b)
                    if key in parent or key in dead:
                        continue
                    parent[key] = (kind, node)
                    queue.append(key)
        dead.update(parent)
        return None

    @staticmethod
    def _unwind(end: tuple[str, int], parent: dict[tuple[str, int], tuple[str, int] | None]) -> list[int]:
        path: list[int] = []
        node: tuple[str, int] | None = end
        while node is not None and parent[node] is not None:
            path.append(node[1])
            node = parent[node]
        path.reverse()
        return path

    def balance(self) -> None:
        """Move a new assignment to a reviewer two or more below its holder, until no such move is left.

        Each move lowers the sum of squared loads by at least 2, so this ends.
        """
        moved = True
        while moved:
            moved = False
            for a in self.apps:
                for s in sorted(self.new[a]):
                    best: int | None = None
                    for r in self.reviewer_ids:
                        if (self.load[r] <= self.load[s] - 2 and self.may_take(a, r) and self.has_room(r)
                                and (best is None or self.load[r] < self.load[best])):
                            best = r
                    if best is not None:
                        self.remove(a, s)
                        self.add(a, best)
                        moved = True

    def explain(self, a: int, k: int) -> str:
        missing = self.missing(a)
        have = k - self.need[a] + len(self.new[a])
        conflicted = sum(1 for r in self.reviewer_ids if r in self.blocked[a])
        on = sum(1 for r in self.reviewer_ids if r in self.on[a] and r not in self.blocked[a])
        full = sum(1 for r in self.reviewer_ids if self.may_take(a, r) and not self.has_room(r))
        panel = len(self.reviewer_ids)
        reasons = [ngettext("%(have)d of %(num)d reviewer assigned, %(missing)d missing.",
                            "%(have)d of %(num)d reviewers assigned, %(missing)d missing.", k, have=have,
                            missing=missing)]
        if panel == 0:
            reasons.append(_("The panel has no active members."))
        else:
            detail = [ngettext("%(num)d already reviews it", "%(num)d already review it", on)] if on else []
            if conflicted:
                detail.append(ngettext("%(num)d has a conflict of interest with it or was taken off it",
                                       "%(num)d have a conflict of interest with it or were taken off it", conflicted))
            if full:
                detail.append(ngettext("%(num)d has reached their cap", "%(num)d have reached their cap", full))
            reasons.append(ngettext("Of the %(num)d panel member, %(details)s.",
                                    "Of the %(num)d panel members, %(details)s.", panel, details=", ".join(detail)))
        reasons.append(_("Add panel members, raise caps, or assign someone by hand."))
        return " ".join(reasons)


def plan_assignments(applications: list[int], reviewers: dict[int, ReviewerCapacity], existing: set[Pair],
                     conflicts: set[Pair], k: int, *, excluded: set[Pair] | None = None) -> AssignmentPlan:
    """Give each application k reviewers (counting existing ones), balanced, never conflicted, within caps.

    Greedy by least load (most constrained applications first), then augmenting paths so that as many
    assignments as caps and conflicts allow are made, then moves of new assignments until no reviewer
    who could take one holds two fewer than the reviewer who has it. Pairs in `excluded` (a reviewer
    taken off an application) are never planned, like conflicts. Deterministic: ties go to lower ids.
    """
    if k < 1:
        raise ValueError("k must be at least 1")
    planner = _Planner(applications, reviewers, existing, conflicts | (excluded or set()), k)
    planner.greedy()
    planner.augment()
    planner.balance()
    plan = AssignmentPlan(pairs=sorted((a, r) for a in planner.apps for r in planner.new[a]))
    for a in planner.apps:
        missing = planner.missing(a)
        if missing > 0:
            plan.shortfalls[a] = missing
            plan.explanations[a] = planner.explain(a, k)
    return plan


# --- Applying plans ------------------------------------------------------------------------------------------


def review_due_at(call: Call, now: datetime | None = None) -> datetime:
    """The call's review due date, or three weeks from now when it has none."""
    return call.review_due_at or (now or utcnow()) + timedelta(days=DEFAULT_REVIEW_DAYS)


def _reviewable_ids(call_id: int, application_ids: Iterable[int] | None = None) -> list[int]:
    stmt = select(Application.id).where(Application.call_id == call_id,
                                        Application.status == ApplicationStatus.UNDER_REVIEW)
    if application_ids is not None:
        stmt = stmt.where(Application.id.in_(list(application_ids)))
    return list(db.session.scalars(stmt.order_by(Application.id)))


def _release_conflicted(call: Call) -> list[int]:
    """Withdraw the call's active assignments that now carry a conflict; returns their applications."""
    conflicted = exists().where(Conflict.application_id == Assignment.application_id,
                                Conflict.reviewer_id == Assignment.reviewer_id)
    assignments = db.session.scalars(
        select(Assignment).where(Assignment.call_id == call.id, Assignment.status == AssignmentStatus.ACTIVE,
                                 conflicted)).all()
    for assignment in assignments:
        withdraw_assignment(assignment, "conflict of interest")
    if assignments:
        log.info("call %s: %s conflicted assignments withdrawn", call.id, len(assignments))
    return sorted({a.application_id for a in assignments})


def lock_call(call: Call) -> None:
    """Serialise assignment changes of one call (calls.services.lock_call: a row lock on PostgreSQL, the write
    lock on SQLite, where one writer at a time is not enough: a check read before the write could be stale)."""
    calls_services.lock_call(call.id)


def _plan(call: Call, application_ids: list[int]) -> tuple[AssignmentPlan, list[CallReviewer]]:
    """Plan for these applications against the whole call's loads (four queries, no writes)."""
    members = list(db.session.scalars(
        select(CallReviewer).where(CallReviewer.call_id == call.id, CallReviewer.active.is_(True))))
    rows = db.session.execute(
        select(Assignment.application_id, Assignment.reviewer_id, Assignment.status)
        .where(Assignment.call_id == call.id)).all()
    active = {(row.application_id, row.reviewer_id) for row in rows if row.status is AssignmentStatus.ACTIVE}
    withdrawn = {(row.application_id, row.reviewer_id) for row in rows if row.status is AssignmentStatus.WITHDRAWN}
    loads = Counter(reviewer for _, reviewer in active)
    reviewers = {m.reviewer_id: ReviewerCapacity(m.max_assignments, loads[m.reviewer_id]) for m in members}
    plan = plan_assignments(application_ids, reviewers, active, conflicted_pairs(call.id),
                            call.reviewers_per_application, excluded=withdrawn)
    return plan, members


def _refuse_when_locked(call: Call) -> None:
    if call.panel_locked_at is not None:
        raise DomainError(_("The reviews of this call are locked; reopen them before changing assignments."))


def _plan_and_apply(call: Call, application_ids: list[int], by: User | None) -> AssignmentPlan:
    """Plan, insert the new assignments in bulk, and email each reviewer who got some once.

    Nothing is assigned once the panel is locked (a recusal or withdrawal then only withdraws).
    """
    if call.panel_locked_at is not None:
        return AssignmentPlan()
    plan, members = _plan(call, application_ids)
    if not plan.pairs:
        return plan
    now = utcnow()
    due = review_due_at(call, now)
    db.session.execute(insert(Assignment), [
        {"call_id": call.id, "application_id": a, "reviewer_id": r, "status": AssignmentStatus.ACTIVE,
         "due_at": due, "assigned_at": now, "assigned_by_id": by.id if by else None}
        for a, r in plan.pairs
    ])
    by_member = {m.reviewer_id: m for m in members}
    for reviewer_id, count in sorted(plan.per_reviewer().items()):
        _email_assignments(by_member[reviewer_id].reviewer, call, count, due)
    record("selection.auto_assigned", call, actor_id=by.id if by else None, assignments=len(plan.pairs),
           per_reviewer={str(r): n for r, n in sorted(plan.per_reviewer().items())},
           shortfalls={str(a): n for a, n in plan.shortfalls.items()})
    log.info("call %s: %s assignments made, %s applications short", call.id, len(plan.pairs), len(plan.shortfalls))
    return plan


def preview(call: Call) -> AssignmentPlan:
    """What automatic assignment would do now (without the conflict rules' newest additions); writes nothing."""
    return _plan(call, _reviewable_ids(call.id))[0]


def _email_assignments(reviewer: User, call: Call, count: int, due: datetime) -> None:
    queue_email(reviewer.email, "selection/assignments", name=reviewer.full_name, count=count,
                call_title=call.title, due=format_for_viewer(due, reviewer, call.time_zone),
                url=public_link(REVIEWS_PATH))


def auto_assign(call: Call, by: User | None = None) -> AssignmentPlan:
    """Apply the automatic conflicts, then give every application under review its k reviewers."""
    lock_call(call)
    _refuse_when_locked(call)
    apply_automatic_conflicts(call)
    _release_conflicted(call)
    plan = _plan_and_apply(call, _reviewable_ids(call.id), by)
    db.session.flush()
    return plan


def reassign(application_ids: Iterable[int], by: User | None = None) -> AssignmentPlan:
    """Top these applications back up to k reviewers each (after a withdrawal or a recusal)."""
    ids = sorted(set(application_ids))
    plan = AssignmentPlan()
    if not ids:
        return plan
    call_ids = db.session.scalars(select(Application.call_id).where(Application.id.in_(ids)).distinct()).all()
    for call_id in sorted(call_ids):
        call = db.session.get_one(Call, call_id)
        lock_call(call)
        part = _plan_and_apply(call, _reviewable_ids(call_id, ids), by)
        plan.pairs += part.pairs
        plan.shortfalls.update(part.shortfalls)
        plan.explanations.update(part.explanations)
    db.session.flush()
    return plan


def call_load(call_id: int, reviewer_id: int) -> int:
    """Active assignments the reviewer holds in the call."""
    return db.session.scalar(select(func.count()).select_from(Assignment).where(
        Assignment.call_id == call_id, Assignment.reviewer_id == reviewer_id,
        Assignment.status == AssignmentStatus.ACTIVE)) or 0


def _conflict_between(reviewer_id: int, application_id: int) -> Conflict | None:
    return db.session.scalars(select(Conflict).where(Conflict.reviewer_id == reviewer_id,
                                                     Conflict.application_id == application_id)
                              .order_by(Conflict.id)).first()


def _has_submitted_review(assignment_id: int) -> bool:
    return bool(db.session.scalar(select(exists().where(Review.assignment_id == assignment_id,
                                                        Review.status == ReviewStatus.SUBMITTED))))


def assign(call: Call, application: Application, reviewer: User, by: User | None) -> Assignment:
    """Assign one reviewer by hand; refused for a conflict, a full cap, or a reviewer not on the panel."""
    label = application.reference or _("application %(id)d", id=application.id)
    if application.call_id != call.id:
        raise DomainError(_("That application belongs to another call."))
    if application.status is not ApplicationStatus.UNDER_REVIEW:
        raise DomainError(_("%(application)s is not under review, so it cannot be assigned.", application=label))
    lock_call(call)
    _refuse_when_locked(call)
    member = panel_member(call.id, reviewer.id)
    if member is None or not member.active:
        raise DomainError(_("%(name)s is not an active member of this call's panel.", name=reviewer.full_name))
    if reviewer.id == application.applicant_id:
        raise DomainError(_("%(name)s is the applicant of %(application)s; nobody reviews their own application.",
                            name=reviewer.full_name, application=label))
    conflict = _conflict_between(reviewer.id, application.id)
    if conflict is not None:
        raise DomainError(_("%(name)s has a conflict of interest with %(application)s (%(kind)s, %(source)s); they "
                            "cannot review it.", name=reviewer.full_name, application=label,
                            kind=conflict.kind.label.lower(), source=conflict.source.label.lower()))
    assignment = db.session.scalar(select(Assignment).where(Assignment.application_id == application.id,
                                                            Assignment.reviewer_id == reviewer.id))
    if assignment is not None and assignment.status is AssignmentStatus.ACTIVE:
        raise DomainError(_("%(name)s already reviews %(application)s.", name=reviewer.full_name, application=label))
    load = call_load(call.id, reviewer.id)
    if member.max_assignments is not None and load >= member.max_assignments:
        raise DomainError(ngettext("%(name)s has reached their cap of %(num)d application in this call.",
                                   "%(name)s has reached their cap of %(num)d applications in this call.",
                                   member.max_assignments, name=reviewer.full_name))
    now = utcnow()
    due = review_due_at(call, now)
    if assignment is None:
        assignment = Assignment(call_id=call.id, application_id=application.id, reviewer_id=reviewer.id)
        db.session.add(assignment)
    assignment.status = AssignmentStatus.ACTIVE
    assignment.due_at = due
    assignment.assigned_at = now
    assignment.assigned_by_id = by.id if by else None
    db.session.flush()
    _email_assignments(reviewer, call, 1, due)
    record("selection.assigned", assignment, actor_id=by.id if by else None, application_id=application.id,
           reviewer_id=reviewer.id)
    log.info("assignment %s: reviewer %s assigned to application %s by hand", assignment.id, reviewer.id,
             application.id)
    return assignment


def withdraw_assignment(assignment: Assignment, reason: str) -> None:
    """Withdraw one active assignment (a recusal, a conflict); the caller reassigns the application.

    A review already submitted on it leaves the call's figures, so those are recomputed.
    """
    assignment.status = AssignmentStatus.WITHDRAWN
    db.session.flush()
    record("selection.unassigned", assignment, application_id=assignment.application_id,
           reviewer_id=assignment.reviewer_id, reason=reason)
    if _has_submitted_review(assignment.id):
        recompute_call(assignment.call_id)


# --- The panel -----------------------------------------------------------------------------------------------


def panel_member(call_id: int, reviewer_id: int) -> CallReviewer | None:
    return db.session.scalar(select(CallReviewer).where(CallReviewer.call_id == call_id,
                                                        CallReviewer.reviewer_id == reviewer_id))


def _clean_member_fields(cap: int | None, institution: str | None, nationality: str | None
                         ) -> tuple[int | None, str | None, str | None]:
    if cap is not None and cap < 0:
        raise DomainError(_("The cap cannot be negative; leave it empty for no cap."))
    institution = (institution or "").strip() or None
    nationality = (nationality or "").strip().upper() or None
    if nationality is not None and not is_country(nationality):
        raise DomainError(_("%(code)s is not a country code.", code=nationality))
    return cap, institution, nationality


def add_to_panel(call: Call, user: User, cap: int | None, institution: str | None, nationality: str | None,
                 by: User | None = None) -> CallReviewer:
    """Put a reviewer on the call's panel (again, if they had withdrawn) and add their automatic conflicts."""
    if not user.has_role(Role.REVIEWER):
        raise DomainError(_("%(name)s does not have the reviewer role. An admin can grant it on the Accounts page.",
                            name=user.full_name))
    cap, institution, nationality = _clean_member_fields(cap, institution, nationality)
    member = panel_member(call.id, user.id)
    if member is not None and member.active:
        raise DomainError(_("%(name)s is already on this panel.", name=user.full_name))
    if member is None:
        member = CallReviewer(call_id=call.id, reviewer_id=user.id)
        db.session.add(member)
    member.active = True
    member.max_assignments = cap
    member.institution = institution
    member.nationality = nationality
    member.joined_at = utcnow()
    db.session.flush()
    apply_automatic_conflicts(call)
    record("selection.panel_member_added", member, actor_id=by.id if by else None, call_id=call.id,
           reviewer_id=user.id, cap=cap, institution=institution, nationality=nationality)
    return member


def update_panel_member(member: CallReviewer, cap: int | None, institution: str | None, nationality: str | None,
                        by: User | None = None) -> AssignmentPlan:
    """Change a member's cap and what the conflict rules compare; assignments now conflicted go to others."""
    cap, institution, nationality = _clean_member_fields(cap, institution, nationality)
    before = {"cap": member.max_assignments, "institution": member.institution, "nationality": member.nationality}
    member.max_assignments = cap
    member.institution = institution
    member.nationality = nationality
    db.session.flush()
    call = db.session.get_one(Call, member.call_id)
    lock_call(call)
    apply_automatic_conflicts(call)
    released = _release_conflicted(call)
    record("selection.panel_member_updated", member, actor_id=by.id if by else None, call_id=call.id,
           reviewer_id=member.reviewer_id, before=before,
           after={"cap": cap, "institution": institution, "nationality": nationality})
    return reassign(released, by)


def withdraw_reviewer(call: Call, reviewer: User, by: User | None = None) -> AssignmentPlan:
    """Take a reviewer off the panel: unsubmitted assignments are withdrawn and given to others."""
    lock_call(call)
    member = panel_member(call.id, reviewer.id)
    if member is None or not member.active:
        raise DomainError(_("%(name)s is not an active member of this call's panel.", name=reviewer.full_name))
    member.active = False
    submitted = exists().where(Review.assignment_id == Assignment.id, Review.status == ReviewStatus.SUBMITTED)
    rows = db.session.execute(
        select(Assignment.id, Assignment.application_id)
        .where(Assignment.call_id == call.id, Assignment.reviewer_id == reviewer.id,
               Assignment.status == AssignmentStatus.ACTIVE, ~submitted)).all()
    if rows:
        db.session.execute(update(Assignment).where(Assignment.id.in_([row.id for row in rows]))
                           .values(status=AssignmentStatus.WITHDRAWN).execution_options(synchronize_session="fetch"))
    db.session.flush()
    record("selection.reviewer_withdrawn", member, actor_id=by.id if by else None, call_id=call.id,
           reviewer_id=reviewer.id, withdrawn_from=sorted(row.application_id for row in rows))
    log.info("call %s: reviewer %s withdrew, %s assignments to reassign", call.id, reviewer.id, len(rows))
    return reassign([row.application_id for row in rows], by)


# --- Queries for the pages -----------------------------------------------------------------------------------


def members_query(call_id: int) -> Select[Any]:
    """Panel members with their active load and submitted reviews, active first, then by name."""
    load = (select(func.count()).select_from(Assignment)
            .where(Assignment.call_id == call_id, Assignment.reviewer_id == CallReviewer.reviewer_id,
                   Assignment.status == AssignmentStatus.ACTIVE).correlate(CallReviewer).scalar_subquery())
    done = (select(func.count()).select_from(Review)
            .where(Review.call_id == call_id, Review.reviewer_id == CallReviewer.reviewer_id,
                   Review.status == ReviewStatus.SUBMITTED).correlate(CallReviewer).scalar_subquery())
    return (select(CallReviewer, load.label("load"), done.label("submitted"))
            .join(User, User.id == CallReviewer.reviewer_id)
            .where(CallReviewer.call_id == call_id)
            .order_by(CallReviewer.active.desc(), User.full_name, CallReviewer.id))


def applications_query(call_id: int) -> Select[Any]:
    """The call's applications under review with their number of active reviewers, by reference."""
    count = (select(func.count()).select_from(Assignment)
             .where(Assignment.application_id == Application.id, Assignment.status == AssignmentStatus.ACTIVE)
             .correlate(Application).scalar_subquery())
    return (select(Application.id, Application.reference, Application.given_name, Application.family_name,
                   Application.nationality, Application.institution, count.label("reviewers"))
            .where(Application.call_id == call_id, Application.status == ApplicationStatus.UNDER_REVIEW)
            .order_by(Application.reference, Application.id))


@dataclass(frozen=True)
class AssignedReviewer:
    assignment_id: int
    reviewer_id: int
    name: str
    submitted: bool


def assignments_for(application_ids: list[int]) -> dict[int, list[AssignedReviewer]]:
    """Active reviewers of these applications (one query), with whether they submitted."""
    submitted = exists().where(Review.assignment_id == Assignment.id, Review.status == ReviewStatus.SUBMITTED)
    rows = db.session.execute(
        select(Assignment.id, Assignment.application_id, Assignment.reviewer_id, User.full_name,
               submitted.label("submitted"))
        .join(User, User.id == Assignment.reviewer_id)
        .where(Assignment.application_id.in_(application_ids), Assignment.status == AssignmentStatus.ACTIVE)
        .order_by(User.full_name)).all() if application_ids else []
    result: dict[int, list[AssignedReviewer]] = defaultdict(list)
    for row in rows:
        result[row.application_id].append(AssignedReviewer(row.id, row.reviewer_id, row.full_name,
                                                           bool(row.submitted)))
    return result


def conflicts_for(application_ids: list[int]) -> set[Pair]:
    """(application, reviewer) pairs with a conflict, among these applications (one query)."""
    if not application_ids:
        return set()
    rows = db.session.execute(select(Conflict.application_id, Conflict.reviewer_id)
                              .where(Conflict.application_id.in_(application_ids))).all()
    return {(row.application_id, row.reviewer_id) for row in rows}
