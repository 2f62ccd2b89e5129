"""Twenty candidates asking for the last five places of a slot at the same moment (real requests, each with its
own connection, released together): exactly five get one, fifteen are told it was just taken and offered the
times still open, and the slot never holds more than its capacity."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from fellowship.extensions import db, limiter
from fellowship.interviews import services
from fellowship.interviews.models import BookingStatus, InterviewBooking, InterviewSlot
from tests.conftest import csrf_token_from, login
from tests.interviews.helpers import add_slot, make_world
from tests.races import at_once, count


def test_twenty_candidates_booking_the_last_five_places_at_once_get_exactly_five(app, app_ctx):
    world = make_world(candidates=22)
    contested = add_slot(world, timedelta(days=4), capacity=7)
    other = add_slot(world, timedelta(days=5), capacity=3)
    for index in (0, 1):  # two places already taken: five are left
        services.book(world.interview, world.candidates[index], contested.id, world.candidate_user(index))
    db.session.commit()

    contested_id, other_id = contested.id, other.id  # plain ids: the threads have no session of their own
    page = f"/interviews/{world.interview.id}"
    clients, tokens = [], []
    limiter.enabled = False  # twenty logins from one address in a second
    try:
        for index in range(2, 22):
            client = app.test_client()
            login(client, world.candidate_user(index).email)
            tokens.append(csrf_token_from(client.get(page).get_data(as_text=True)))
            clients.append(client)
    finally:
        limiter.enabled = True

    def booking(client, token):
        return lambda: client.post(f"{page}/book", data={"slot": contested_id, "csrf_token": token})

    responses = at_once([booking(c, t) for c, t in zip(clients, tokens, strict=True)])
    errors = [r for r in responses if isinstance(r, Exception)]
    if errors:
        raise errors[0]
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [302] * 5 + [409] * 15
    for refused in (r for r in responses if r.status_code == 409):
        html = refused.get_data(as_text=True)
        assert "just taken by another candidate" in html
        assert f'value="{other_id}"' in html  # the times still open are offered ...
        assert f'value="{contested_id}"' not in html  # ... and the full one is not

    db.session.expire_all()
    assert db.session.get_one(InterviewSlot, contested.id).booked_count == 7
    assert count(InterviewBooking, InterviewBooking.slot_id == contested.id,
                 InterviewBooking.status == BookingStatus.BOOKED) == 7
    assert count(InterviewBooking, InterviewBooking.slot_id == other.id) == 0
    booked = set(db.session.scalars(select(InterviewBooking.application_id)))
    assert len(booked) == 7
