"""What each role's home page shows: the work waiting for that person, gathered from each area's services.

`main` sits at the top of the layers, so it may ask every area; each area keeps its own "pending work" query. The
number of queries is fixed per role, whatever the number of applications, reviews or alumni."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fellowship.admin import audit_log
from fellowship.admin.services import accounts_waiting
from fellowship.alumni import directory, survey
from fellowship.applications.services import applicant_home
from fellowship.auth.models import Role, User
from fellowship.calls.models import CallStatus
from fellowship.calls.services import ACTIVE_STAGES, active_calls, call_count_by_status, next_deadlines
from fellowship.extensions import db
from fellowship.fellows.queries import attention_counts
from fellowship.models import utcnow
from fellowship.notifications.services import status_counts
from fellowship.selection.pending import offers_to_answer, reviewer_work

#: How many recent audit entries the admin's home page shows.
RECENT_AUDIT = 5

#: Where the current work of a call at each stage is done, for the staff home page.
STAGE_PAGES = {CallStatus.DRAFT: "calls.edit_call", CallStatus.OPEN: "staff_applications.call_applications",
               CallStatus.CLOSED: "selection.panel", CallStatus.REVIEWING: "selection.call_ranking",
               CallStatus.DECIDED: "selection.call_decisions"}
#: One label per value (CallStatus.label), lazy: built at import, shown in the reader's language.
STAGE_WORDS = {status: status.lazy_label for status in CallStatus}


@dataclass
class Home:
    """The sections of one person's home page; a section is None when the person does not have that role."""

    applicant: dict[str, Any] | None = None
    reviewer: dict[str, Any] | None = None
    staff: dict[str, Any] | None = None
    alumnus: dict[str, Any] | None = None
    admin: dict[str, Any] | None = None
    roles: list[str] = field(default_factory=list)


def home_for(user: User, now: datetime | None = None) -> Home:
    """Each of the user's roles' pending work."""
    now = now or utcnow()
    home = Home()
    if user.has_role(Role.APPLICANT):
        home.applicant = {"applications": applicant_home(user.id, now), "offers": offers_to_answer(user.id), "now": now}
        home.roles.append("applicant")
    if user.has_role(Role.REVIEWER):
        home.reviewer = {"work": reviewer_work(user.id)}
        home.roles.append("reviewer")
    if user.has_role(Role.STAFF, Role.ADMIN):
        counts = call_count_by_status()
        returns_due, overdue = attention_counts(now.date())
        home.staff = {"stages": [(s, STAGE_WORDS[s], counts.get(s.value, 0)) for s in ACTIVE_STAGES],
                      "calls": active_calls(), "stage_pages": STAGE_PAGES, "stage_words": STAGE_WORDS,
                      "deadlines": next_deadlines(now), "failed_emails": status_counts().get("failed", 0),
                      "overdue_follow_ups": overdue, "returns_due": returns_due}
        home.roles.append("staff")
    if directory.is_alumnus_this_request(user):
        fellow = survey.alumnus_for_user(user)
        if fellow is not None:
            home.alumnus = {"fellow": fellow, "waiting": survey.waiting_follow_ups(user.id),
                            "career": survey.current_career_entry(fellow.id)}
            home.roles.append("alumnus")
    if user.has_role(Role.ADMIN):
        invited, first_invited, roleless = accounts_waiting()
        filters = audit_log.AuditFilters.from_args({}, user.time_zone)
        entries = list(db.session.scalars(audit_log.page_query(filters).limit(RECENT_AUDIT)).unique())
        home.admin = {"invited": invited, "first_invited": first_invited, "roleless": roleless,
                      "recent": audit_log.describe_all(entries)}
        home.roles.append("admin")
    return home
