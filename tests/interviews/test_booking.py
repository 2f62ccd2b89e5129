"""Booking interview slots: in the candidate's zone, under a conditional write, with an .ics invitation, changes
refused inside 24 hours, reminders once, staff booking on a candidate's behalf and no-shows, all audited."""

from __future__ import annotations

from datetime import UTC, timedelta
from email import message_from_bytes

import pytest
from icalendar import Calendar
from sqlalchemy import select, update

from fellowship.audit.models import AuditEntry
from fellowship.extensions import db
from fellowship.interviews import services
from fellowship.interviews.models import BookingStatus, InterviewBooking, InterviewSlot
from fellowship.interviews.tasks import send_reminders_task
from fellowship.models import utcnow
from fellowship.notifications.mailer import build_email
from fellowship.notifications.models import OutboxMessage
from tests.conftest import csrf_token_from, login, submit_form
from tests.interviews.helpers import World, add_slot, make_world
from tests.races import count


@pytest.fixture
def world(app_ctx) -> World:
    return make_world(candidates=2)


def candidate_client(app, world: World, index: int = 0):
    client = app.test_client()
    login(client, world.candidate_user(index).email)
    return client


def book_page(world: World) -> str:
    return f"/interviews/{world.interview.id}"


def outbox(template: str) -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.template == template)
                                   .order_by(OutboxMessage.id)))


def test_the_booking_page_shows_each_time_in_the_candidates_zone_with_the_programmes_beside_it(app, world):
    slot = add_slot(world, timedelta(days=5))
    html = candidate_client(app, world).get(book_page(world)).get_data(as_text=True)
    dakar = slot.starts_at.astimezone(__import__("zoneinfo").ZoneInfo("Africa/Dakar"))
    tokyo = slot.starts_at.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Tokyo"))
    assert f"{dakar:%H:%M} in Dakar ({tokyo:%H:%M} in Tokyo)" in html
    assert f"{dakar:%a} {dakar.day} {dakar:%b %Y}" in html


def test_a_booked_candidate_gets_a_confirmation_with_an_ics_whose_dtstart_is_in_their_zone(app, world):
    slot = add_slot(world, timedelta(days=5))
    client = candidate_client(app, world)
    response = submit_form(client, f"{book_page(world)}/book", {"slot": slot.id}, page=book_page(world))
    assert response.status_code == 302
    [message] = outbox("interviews/confirmation")
    email = build_email(message)
    [attachment] = list(email.iter_attachments())
    assert attachment.get_content_type() == "text/calendar"
    calendar = Calendar.from_ical(attachment.get_payload(decode=True))
    [event] = calendar.walk("VEVENT")
    assert event["DTSTART"].params["TZID"] == "Africa/Dakar"
    assert str(event.decoded("DTSTART").tzinfo) == "Africa/Dakar"
    assert event.decoded("DTSTART").astimezone(UTC) == slot.starts_at.replace(second=0, microsecond=0)
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Africa/Dakar"]
    # The same invitation can be downloaded from the booking page.
    download = client.get(f"{book_page(world)}/invitation.ics")
    assert download.mimetype == "text/calendar"
    assert Calendar.from_ical(download.data).walk("VEVENT")[0]["DTSTART"].params["TZID"] == "Africa/Dakar"
    assert count(AuditEntry, AuditEntry.action == "interviews.booked") == 1


def test_rescheduling_or_cancelling_inside_24_hours_is_refused_with_the_reason(app, world):
    soon = add_slot(world, timedelta(days=3))
    later = add_slot(world, timedelta(days=6))
    client = candidate_client(app, world)
    assert submit_form(client, f"{book_page(world)}/book", {"slot": soon.id}, page=book_page(world)).status_code == 302
    # Time passes: the interview now starts in 20 hours.
    db.session.execute(update(InterviewSlot).where(InterviewSlot.id == soon.id)
                       .values(starts_at=utcnow() + timedelta(hours=20)))
    db.session.commit()
    token = csrf_token_from(client.get(book_page(world)).get_data(as_text=True))
    response = client.post(f"{book_page(world)}/book", data={"slot": later.id, "csrf_token": token})
    assert response.status_code == 422
    assert "only until 24 hours before they start" in response.get_data(as_text=True)
    response = client.post(f"{book_page(world)}/cancel", data={"csrf_token": token}, follow_redirects=True)
    assert "only until 24 hours before they start" in response.get_data(as_text=True)
    db.session.expire_all()
    booking = db.session.scalars(select(InterviewBooking)).one()
    assert (booking.slot_id, booking.status) == (soon.id, BookingStatus.BOOKED)
    assert db.session.get_one(InterviewSlot, later.id).booked_count == 0


def test_rescheduling_before_24_hours_moves_the_place_and_sends_a_new_invitation(app, world):
    first = add_slot(world, timedelta(days=3))
    second = add_slot(world, timedelta(days=6))
    client = candidate_client(app, world)
    submit_form(client, f"{book_page(world)}/book", {"slot": first.id}, page=book_page(world))
    assert submit_form(client, f"{book_page(world)}/book", {"slot": second.id},
                       page=book_page(world)).status_code == 302
    db.session.expire_all()
    assert (db.session.get_one(InterviewSlot, first.id).booked_count,
            db.session.get_one(InterviewSlot, second.id).booked_count) == (0, 1)
    assert len(outbox("interviews/confirmation")) == 2
    assert count(AuditEntry, AuditEntry.action == "interviews.rescheduled") == 1
    response = client.post(f"{book_page(world)}/cancel",
                           data={"csrf_token": csrf_token_from(client.get(book_page(world)).get_data(as_text=True))})
    assert response.status_code == 302
    assert db.session.get_one(InterviewSlot, second.id).booked_count == 0
    assert count(AuditEntry, AuditEntry.action == "interviews.cancelled") == 1


def test_the_reminder_job_run_twice_sends_one_reminder(app, world):
    slot = add_slot(world, timedelta(days=3))
    services.book(world.interview, world.candidates[0], slot.id, world.candidate_user(0))
    db.session.commit()
    assert send_reminders_task() == 0  # not due yet: 24 hours before is two days away
    later = utcnow() + timedelta(days=2, hours=1)
    assert services.send_due_reminders(later) == 1
    db.session.commit()
    assert services.send_due_reminders(later) == 0
    db.session.commit()
    [reminder] = outbox("interviews/reminder")
    assert reminder.recipient == world.candidate_user(0).email
    assert "in Dakar" in reminder.context["when"]


def test_staff_book_on_a_candidates_behalf_and_mark_a_no_show_both_audited(app, world):
    slot = add_slot(world, timedelta(days=2))
    staff = app.test_client()
    login(staff, world.staff.email)
    page = f"/staff/interview-slots/{slot.id}"
    response = submit_form(staff, f"{page}/book", {"reference": world.candidates[1].reference}, page=page)
    assert response.status_code == 302
    booking = db.session.scalars(select(InterviewBooking)).one()
    assert booking.application_id == world.candidates[1].id and booking.booked_by_id == world.staff.id
    # Not before the interview has started ...
    token = csrf_token_from(staff.get(page).get_data(as_text=True))
    staff.post(f"/staff/interview-bookings/{booking.id}/no-show", data={"csrf_token": token})
    db.session.expire_all()
    assert db.session.get_one(InterviewBooking, booking.id).status is BookingStatus.BOOKED
    # ... then it can be.
    db.session.execute(update(InterviewSlot).where(InterviewSlot.id == slot.id)
                       .values(starts_at=utcnow() - timedelta(minutes=10)))
    db.session.commit()
    staff.post(f"/staff/interview-bookings/{booking.id}/no-show", data={"csrf_token": token})
    db.session.expire_all()
    assert db.session.get_one(InterviewBooking, booking.id).status is BookingStatus.NO_SHOW
    actions = set(db.session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("interviews.%"))))
    assert {"interviews.booked", "interviews.no_show"} <= actions


def test_someone_not_shortlisted_cannot_see_or_book_the_interview(app, world):
    slot = add_slot(world, timedelta(days=5))
    from tests.factories import submitted_application

    outsider = submitted_application(world.call)
    client = app.test_client()
    login(client, db.session.get_one(__import__("fellowship.auth.models", fromlist=["User"]).User,
                                      outsider.applicant_id).email)
    assert client.get(book_page(world)).status_code == 404
    assert client.post(f"{book_page(world)}/book", data={"slot": slot.id}).status_code in (400, 404)
    assert count(InterviewBooking) == 0


def test_the_shortlists_outcome_invites_each_shortlisted_candidate_to_book_once(app, world):
    from fellowship import signals

    ids = [a.id for a in world.candidates]
    signals.stage_outcome_sent.send(world.shortlist, advanced_ids=ids)
    signals.stage_outcome_sent.send(world.shortlist, advanced_ids=ids)
    db.session.commit()
    invitations = outbox("interviews/invitation")
    assert sorted(m.recipient for m in invitations) == sorted(world.candidate_user(i).email for i in range(2))
    assert all(m.context["link"].endswith(book_page(world)) for m in invitations)


def test_the_confirmation_email_says_the_time_in_dakar(app, world):
    slot = add_slot(world, timedelta(days=5))
    services.book(world.interview, world.candidates[0], slot.id, world.candidate_user(0))
    db.session.commit()
    [message] = outbox("interviews/confirmation")
    text = message_from_bytes(build_email(message).as_bytes()).as_string()
    assert "in Dakar (" in message.context["when"] and "in Tokyo)" in message.context["when"]
    assert "interview.ics" in text
