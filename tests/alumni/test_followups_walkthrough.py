"""Five years of one alumnus's follow-ups with a frozen clock: each run of the daily job gets `now` explicitly."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from fellowship.alumni.followups import DailySummary, run_daily, schedule_follow_ups
from fellowship.alumni.models import CareerEntry, FollowUp, FollowUpResponse, FollowUpStatus
from fellowship.auth.models import Role, User
from fellowship.extensions import db
from fellowship.fellows.models import Fellow
from fellowship.notifications.models import OutboxMessage
from tests.alumni.factories import make_alumnus
from tests.conftest import submit_form
from tests.factories import UserFactory

RETURNED = date(2019, 8, 31)


def at(day: date, days: int = 0) -> datetime:
    """01:00 UTC on `day` + `days`: when beat runs the job."""
    return datetime(day.year, day.month, day.day, 1, 0, tzinfo=UTC) + timedelta(days=days)


def follow_up(fellow_id: int, months: int) -> FollowUp:
    db.session.expire_all()
    return db.session.scalars(select(FollowUp).where(FollowUp.fellow_id == fellow_id,
                                                     FollowUp.months_after_return == months)).one()


def new_messages(seen: set[int]) -> list[OutboxMessage]:
    """Outbox rows queued since the last call, oldest first."""
    rows = [m for m in db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)) if m.id not in seen]
    seen.update(m.id for m in rows)
    return rows


def answer(client, survey_url: str, position: str) -> None:
    path = survey_url.removeprefix("http://localhost")
    page = client.get(path)
    assert page.status_code == 200 and "follow-up" in page.get_data(as_text=True)
    response = submit_form(client, path, {
        "country_of_residence": "KE", "country_of_work": "KE", "position": position,
        "organisation": "Kisumu County Government", "sector": "government", "country": "KE",
        "environmental": "yes", "leadership_level": "manager", "projects_led": "2", "policies_contributed": "1",
        "publications": "0", "people_trained": "35", "awards": "0", "collaboration_with_japan": "yes",
        "achievements_text": "Led the county's flood early-warning programme.", "directory_consent": "y",
    })
    assert response.status_code == 302 and response.location.endswith("/follow-up/thanks"), response.get_data(True)


def test_one_alumnus_through_five_years_sent_reminded_answered_overdue_lapsed_lost_contact_recovered(client, app_ctx):
    staff = [UserFactory(roles=[Role.STAFF]), UserFactory(roles=[Role.STAFF])]
    UserFactory(roles=[Role.REVIEWER])  # not staff: never gets the digest
    fellow = make_alumnus(returned_on=RETURNED)
    fellow_id = fellow.id
    alumnus = db.session.get_one(User, fellow.user_id)
    email = alumnus.email
    seen: set[int] = set()

    assert schedule_follow_ups(fellow) == 5
    assert schedule_follow_ups(fellow) == 0  # idempotent
    db.session.commit()
    due = dict(db.session.execute(select(FollowUp.months_after_return, FollowUp.due_on)
                                  .where(FollowUp.fellow_id == fellow_id)).all())
    # Same day of the month, clamped to the month's end: 31 Aug + 6 months is 29 Feb in a leap year.
    assert due == {6: date(2020, 2, 29), 12: date(2020, 8, 31), 24: date(2021, 8, 31), 36: date(2022, 8, 31),
                   60: date(2024, 8, 31)}

    # The day before it is due: nothing.
    assert run_daily(at(date(2020, 2, 28))) == DailySummary()
    assert new_messages(seen) == []

    # +6 months: sent, with a personal link.
    assert run_daily(at(date(2020, 2, 29))) == DailySummary(sent=1)
    six = follow_up(fellow_id, 6)
    assert six.status is FollowUpStatus.SENT and six.sent_at == at(date(2020, 2, 29)) and six.link_nonce
    [invitation] = new_messages(seen)
    assert (invitation.recipient, invitation.template, invitation.dedupe_key) == (
        email, "alumni/followup_invitation", f"followup:{six.id}:sent")
    assert invitation.context["survey_url"].startswith("http://localhost/follow-up/")
    assert invitation.context["period"] == "6 months"

    # +7 days: reminded, with the same personal link (same follow-up and nonce).
    assert run_daily(at(date(2020, 2, 29), 7)) == DailySummary(reminded=1)
    six = follow_up(fellow_id, 6)
    assert six.status is FollowUpStatus.REMINDED and six.reminders_sent == 1
    [reminder] = new_messages(seen)
    assert (reminder.template, reminder.dedupe_key) == ("alumni/followup_reminder", f"followup:{six.id}:reminder1")

    # Answered through the emailed link: completed, with a career entry and the response.
    answer(client, reminder.context["survey_url"], "Climate adaptation officer")
    six = follow_up(fellow_id, 6)
    assert six.status is FollowUpStatus.COMPLETED and six.completed_at is not None and six.link_nonce is None
    assert db.session.scalar(select(FollowUpResponse.people_trained)
                             .where(FollowUpResponse.follow_up_id == six.id)) == 35
    assert db.session.scalars(select(CareerEntry.position).where(CareerEntry.fellow_id == fellow_id)).all() == [
        "Climate adaptation officer"]
    # The answered follow-up gets no more reminders.
    assert run_daily(at(date(2020, 2, 29), 21)) == DailySummary()

    # +12 months: sent; no answer: reminded at +7 and +21 days.
    twelve_sent = at(date(2020, 8, 31))
    assert run_daily(twelve_sent) == DailySummary(sent=1)
    twelve_id = follow_up(fellow_id, 12).id
    assert [(m.template, m.dedupe_key) for m in new_messages(seen)] == [
        ("alumni/followup_invitation", f"followup:{twelve_id}:sent")]
    assert run_daily(twelve_sent + timedelta(days=7)) == DailySummary(reminded=1)
    assert run_daily(twelve_sent + timedelta(days=21)) == DailySummary(reminded=1)
    assert [(m.template, m.dedupe_key) for m in new_messages(seen)] == [
        ("alumni/followup_reminder", f"followup:{twelve_id}:reminder1"),
        ("alumni/followup_reminder", f"followup:{twelve_id}:reminder2")]
    assert follow_up(fellow_id, 12).reminders_sent == 2

    # +35 days: overdue; staff get the day's digest.
    overdue_day = twelve_sent + timedelta(days=35)
    assert run_daily(overdue_day) == DailySummary(overdue=1, digest_sent=True)
    twelve = follow_up(fellow_id, 12)
    assert twelve.status is FollowUpStatus.OVERDUE and twelve.overdue_at == overdue_day
    digests = new_messages(seen)
    assert sorted((m.recipient, m.template, m.dedupe_key) for m in digests) == sorted(
        (s.email, "alumni/followup_digest", f"followup-digest:{overdue_day.date()}:{s.id}") for s in staff)
    assert digests[0].context["newly_overdue"] == 1
    assert digests[0].context["overdue_url"] == "http://localhost/staff/alumni/overdue"

    # +90 days: lapsed, and the alumnus is lost contact; the digest goes to each staff member once that day.
    lapse_day = twelve_sent + timedelta(days=90)
    assert run_daily(lapse_day) == DailySummary(lapsed=1, lost_contact=1, digest_sent=True)
    assert run_daily(lapse_day + timedelta(hours=5)) == DailySummary()  # a second run the same day
    twelve = follow_up(fellow_id, 12)
    assert twelve.status is FollowUpStatus.LAPSED and twelve.lapsed_at == lapse_day
    assert db.session.get_one(Fellow, fellow_id).lost_contact_since == lapse_day
    digests = new_messages(seen)
    assert sorted((m.recipient, m.dedupe_key) for m in digests) == sorted(
        (s.email, f"followup-digest:{lapse_day.date()}:{s.id}") for s in staff)
    assert {(m.context["newly_lapsed"], m.context["newly_lost"], m.context["lost_contact_total"]) for m in digests} == {
        (1, 1, 1)}

    # +24 months: sent and answered: contact recovered, a new position closes the previous one.
    assert run_daily(at(date(2021, 8, 31))) == DailySummary(sent=1)
    [invitation] = new_messages(seen)
    assert invitation.template == "alumni/followup_invitation" and invitation.context["period"] == "2 years"
    answer(client, invitation.context["survey_url"], "Head of climate unit")
    db.session.expire_all()
    assert db.session.get_one(Fellow, fellow_id).lost_contact_since is None
    assert follow_up(fellow_id, 24).status is FollowUpStatus.COMPLETED
    careers = db.session.execute(select(CareerEntry.position, CareerEntry.end_date)
                                 .where(CareerEntry.fellow_id == fellow_id).order_by(CareerEntry.id)).all()
    assert [c.position for c in careers] == ["Climate adaptation officer", "Head of climate unit"]
    assert careers[0].end_date is not None and careers[1].end_date is None

    # +3 years: sent. The job then does not run for two years: at +5 years one run lapses the 3-year follow-up
    # (lost contact again) and sends the 5-year one.
    assert run_daily(at(date(2022, 8, 31))) == DailySummary(sent=1)
    assert run_daily(at(date(2024, 8, 31))) == DailySummary(sent=1, lapsed=1, lost_contact=1, digest_sent=True)
    assert sorted((m.template, m.context.get("period", "")) for m in new_messages(seen)) == sorted([
        ("alumni/followup_invitation", "3 years"), ("alumni/followup_invitation", "5 years"),
        ("alumni/followup_digest", ""), ("alumni/followup_digest", "")])
    statuses = {months: follow_up(fellow_id, months).status for months in (6, 12, 24, 36, 60)}
    assert statuses == {6: FollowUpStatus.COMPLETED, 12: FollowUpStatus.LAPSED, 24: FollowUpStatus.COMPLETED,
                        36: FollowUpStatus.LAPSED, 60: FollowUpStatus.SENT}
