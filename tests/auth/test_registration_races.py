"""Registrations of one email arriving at the same moment: one account, and everyone gets the usual page; one
password reset link used twice at the same moment sets one password."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from fellowship.auth.models import User
from fellowship.extensions import db
from fellowship.notifications.models import OutboxMessage
from tests.auth.test_accounts import STRONG, outbox_link
from tests.conftest import csrf_token_from, login, submit_form
from tests.factories import UserFactory

ATTEMPTS = 6


def test_six_registrations_of_one_email_at_once_make_one_account_and_no_error(app, app_ctx):
    answers: list[tuple[int, str]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(ATTEMPTS)

    def register(n: int) -> None:
        client = app.test_client()  # its own cookies; each request its own app context and database connection
        try:
            token = csrf_token_from(client.get("/auth/register").get_data(as_text=True))
            barrier.wait(30)
            response = client.post("/auth/register", data={
                "full_name": f"Amani Njeri {n}", "email": "Amani@Example.org", "password": STRONG,
                "confirm": STRONG, "csrf_token": token})
            answers.append((response.status_code, response.location or ""))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=register, args=(n,)) for n in range(ATTEMPTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert not errors, errors
    assert len(answers) == ATTEMPTS and len(set(answers)) == 1, answers  # every answer the same...
    status, location = answers[0]
    assert status == 302 and location.startswith("/auth/check-email"), answers  # ...and the usual one
    assert db.session.scalar(select(func.count()).select_from(User)) == 1
    templates = db.session.scalars(select(OutboxMessage.template).order_by(OutboxMessage.template)).all()
    # The winner is asked to confirm; every other attempt warns the owner, as a later registration would.
    assert templates == ["auth/already_registered"] * (ATTEMPTS - 1) + ["auth/confirm_email"]


def test_one_reset_link_submitted_twice_at_once_sets_one_password(app, app_ctx):
    user = UserFactory(email="kwame@example.org")
    submit_form(app.test_client(), "/auth/forgot", {"email": user.email})
    link = outbox_link(user.email, "auth/reset_password")
    passwords = ["river-delta-mangrove-41", "acacia-monsoon-harbour-58"]
    answers: list[str] = []
    barrier = threading.Barrier(len(passwords))

    def reset(password: str) -> None:
        client = app.test_client()
        try:
            token = csrf_token_from(client.get(link).get_data(as_text=True))
            barrier.wait(30)
            response = client.post(link, data={"password": password, "confirm": password, "csrf_token": token})
            answers.append(f"{response.status_code} {password}")
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            answers.append(f"error {exc!r}")

    threads = [threading.Thread(target=reset, args=(p,)) for p in passwords]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert sorted(a.split()[0] for a in answers) == ["302", "400"], answers  # one set it; the other: "already used"
    winner = next(a.split()[1] for a in answers if a.startswith("302"))
    loser = next(p for p in passwords if p != winner)
    assert login(app.test_client(), user.email, winner).status_code == 302
    assert "Wrong email or password" in login(app.test_client(), user.email, loser).get_data(as_text=True)
