"""Registrations of one email arriving at the same moment: one account, and everyone gets the usual page."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from fellowship.auth.models import User
from fellowship.extensions import db
from fellowship.notifications.models import OutboxMessage
from tests.auth.test_accounts import STRONG
from tests.conftest import csrf_token_from

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
