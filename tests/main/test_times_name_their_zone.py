"""Times are shown in the viewer's zone (theirs, else the programme's) with the zone named, on pages and in emails
alike: never UTC on one page and JST on the next."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from fellowship.applications.services import remind_drafts
from fellowship.auth.models import Role
from fellowship.extensions import db
from fellowship.models import utcnow
from fellowship.notifications.models import OutboxMessage
from fellowship.timezones import format_for_viewer
from tests.conftest import login
from tests.factories import ApplicationFactory, CallFactory, UserFactory, submitted_application
from tests.selection.factories import AssignmentFactory


class Viewer:
    def __init__(self, time_zone: str | None) -> None:
        self.time_zone = time_zone


def test_one_helper_shows_a_time_in_the_viewers_zone_else_the_programmes_and_always_names_it():
    moment = datetime(2027, 3, 31, 8, 0, tzinfo=UTC)
    nairobi = "31 March 2027, 11:00 EAT (Africa/Nairobi)"
    assert format_for_viewer(moment, Viewer("Africa/Nairobi"), "Asia/Tokyo") == nairobi
    assert format_for_viewer(moment, Viewer(None), "Asia/Tokyo") == "31 March 2027, 17:00 JST (Asia/Tokyo)"
    assert format_for_viewer(moment, None, "Asia/Tokyo") == "31 March 2027, 17:00 JST (Asia/Tokyo)"  # anonymous
    assert format_for_viewer(moment, Viewer("Not/AZone"), None) == "31 March 2027, 08:00 UTC (UTC)"
    assert format_for_viewer(moment, Viewer("Asia/Tokyo"), None, "%Y-%m-%d") == "2027-03-31"  # a day names none


def test_pages_that_showed_utc_show_the_viewers_zone_named(client, app_ctx):
    due = utcnow().replace(microsecond=0) + timedelta(days=10)
    reviewer = UserFactory(roles=[Role.REVIEWER], time_zone="Asia/Kathmandu")
    assignment = AssignmentFactory(application=submitted_application(), reviewer_id=reviewer.id, due_at=due)
    login(client, reviewer.email)
    expected = format_for_viewer(due, reviewer, None)
    assert "(Asia/Kathmandu)" in expected
    for path in ("/review", f"/review/assignments/{assignment.id}"):
        html = client.get(path).get_data(as_text=True)
        assert expected in html, path
        assert not re.search(r"\d\d:\d\d UTC", html), path


def test_a_draft_reminder_gives_the_deadline_in_the_applicants_zone_else_the_programmes(app_ctx):
    call = CallFactory(closes_at=utcnow() + timedelta(days=3))
    in_nairobi, no_zone = UserFactory(time_zone="Africa/Nairobi"), UserFactory(time_zone=None)
    ApplicationFactory(call=call, applicant=in_nairobi)
    ApplicationFactory(call=call, applicant=no_zone)
    assert remind_drafts() == 2
    db.session.commit()
    deadline = {m.recipient: m.context["deadline"] for m in db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.template == "applications/draft_reminder"))}
    assert deadline[in_nairobi.email].endswith("EAT (Africa/Nairobi)")
    assert deadline[no_zone.email].endswith("JST (Asia/Tokyo)")


def test_an_offer_email_gives_the_answer_deadline_in_the_applicants_zone(app_ctx):
    from fellowship.selection import decisions
    from fellowship.selection.models import DecisionOutcome

    call = CallFactory()
    in_dakar = submitted_application(call, applicant=UserFactory(time_zone="Africa/Dakar"))
    no_zone = submitted_application(call, applicant=UserFactory(time_zone=None))
    for application in (in_dakar, no_zone):
        decisions.record_decision(application, DecisionOutcome.ACCEPT, "Selected.", None)
    decisions.send_decisions(call, UserFactory(roles=[Role.STAFF]))
    db.session.commit()
    deadline = {m.recipient: m.context["offer_deadline"] for m in db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.template == "selection/decision_accept"))}
    assert deadline[_email(in_dakar)].endswith("GMT (Africa/Dakar)")
    assert deadline[_email(no_zone)].endswith("JST (Asia/Tokyo)")


def _email(application) -> str:
    from fellowship.auth.models import User

    return db.session.get_one(User, application.applicant_id).email
