"""Registration and the password-reset form take as long for a registered email as for a new one, so their timing
does not tell anyone which addresses have accounts. Ratios of medians, so the tests hold on a slow machine."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient

from fellowship.extensions import limiter
from tests.auth.test_accounts import STRONG
from tests.conftest import csrf_token_from
from tests.factories import UserFactory

ROUNDS = 10
MAX_RATIO = 1.25


@pytest.fixture
def no_rate_limit() -> Iterator[None]:
    """Twenty-odd posts from one address in a few seconds would hit the per-address limits."""
    limiter.enabled = False
    try:
        yield
    finally:
        limiter.enabled = True


def post_seconds(client: FlaskClient, url: str, data: dict[str, Any]) -> float:
    token = csrf_token_from(client.get(url).get_data(as_text=True))
    start = time.perf_counter()
    response = client.post(url, data={**data, "csrf_token": token})
    elapsed = time.perf_counter() - start
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    return elapsed


def medians(client: FlaskClient, url: str, registered: dict[str, Any], new: Any) -> tuple[float, float]:
    """Median time of ROUNDS posts for the registered email and for new ones, taken in turn (after one warm-up
    each), so a machine that slows down meanwhile slows both alike."""
    post_seconds(client, url, registered)
    post_seconds(client, url, new(-1))
    known, unknown = [], []
    for n in range(ROUNDS):
        known.append(post_seconds(client, url, registered))
        unknown.append(post_seconds(client, url, new(n)))
    return statistics.median(known), statistics.median(unknown)


def assert_alike(known: float, unknown: float) -> None:
    ratio = max(known, unknown) / min(known, unknown)
    print(f"registered {known * 1000:.1f} ms, new {unknown * 1000:.1f} ms, ratio {ratio:.2f}")
    assert ratio < MAX_RATIO, f"registered {known * 1000:.0f} ms against new {unknown * 1000:.0f} ms"


def test_registering_a_taken_email_takes_as_long_as_a_new_one(client, app_ctx, no_rate_limit):
    UserFactory(email="taken@example.org", full_name="Amani Njeri")
    form = {"full_name": "Amani Njeri", "password": STRONG, "confirm": STRONG}
    known, unknown = medians(client, "/auth/register", {**form, "email": "taken@example.org"},
                             lambda n: {**form, "email": f"new{n + 1}@example.org"})
    assert_alike(known, unknown)


def test_asking_to_reset_the_password_takes_as_long_for_an_unknown_email(client, app_ctx, no_rate_limit):
    UserFactory(email="known@example.org")
    known, unknown = medians(client, "/auth/forgot", {"email": "known@example.org"},
                             lambda n: {"email": f"nobody{n + 1}@example.org"})
    assert_alike(known, unknown)
