"""The client's address behind a load balancer: taken from X-Forwarded-For only as far as TRUSTED_PROXIES says.

Rate limits count per address; behind a proxy the connection's address is the proxy's, shared by every user.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import request

from tests.conftest import make_app


@pytest.mark.parametrize(("proxies", "forwarded", "seen"), [
    (0, "203.0.113.9", "10.0.0.5"),  # no proxy is trusted: a client cannot choose its address with the header
    (1, "203.0.113.9", "203.0.113.9"),  # the balancer's entry is the client
    (1, "198.51.100.66, 203.0.113.9", "203.0.113.9"),  # what the client wrote before it is not believed
    (2, "198.51.100.66, 203.0.113.9", "198.51.100.66"),  # the balancer wrote the client, nginx the balancer
])
def test_the_client_address_comes_from_trusted_proxies_only(app_settings: dict[str, Any], proxies: int,
                                                             forwarded: str, seen: str) -> None:
    app = make_app({**app_settings, "TRUSTED_PROXIES": proxies})
    app.add_url_rule("/test-client-address", "client_address", lambda: request.remote_addr or "")
    answer = app.test_client().get("/test-client-address", headers={"X-Forwarded-For": forwarded},
                                   environ_base={"REMOTE_ADDR": "10.0.0.5"})
    assert answer.get_data(as_text=True) == seen
