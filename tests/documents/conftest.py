"""Rate limits use the test app's storage, with empty counters, for each test of this folder.

The one Limiter object keeps the storage of the last app that initialised it, so after a test
that builds its own app (tests/notifications does, on a Redis of its own) the per-test Redis
flush no longer clears the counters, and the logins of earlier tests count against later ones.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from fellowship.extensions import limiter


@pytest.fixture(autouse=True)
def fresh_rate_limits(app) -> Iterator[None]:
    limiter.init_app(app)  # back to this app's storage (registers nothing twice)
    with app.app_context(), contextlib.suppress(Exception):  # a storage that cannot be reset: nothing to clear
        limiter.reset()
    yield
