"""'Back to where you were' links only ever lead to a path on this site."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from fellowship.navigation import safe_local_path
from tests.conftest import csrf_token_from
from tests.factories import PASSWORD, UserFactory

CONTROL_CHARACTERS = ["\r\n", "\r", "\n", "\t", "\x00", "\x0b", "\x0c", "\x1b", "\x7f", "\x85", "\u2028", "\u2029"]


def test_login_with_a_line_break_in_next_lands_on_the_home_page(client, app_ctx):
    UserFactory(email="fatima@example.org")
    html = client.get("/auth/login").get_data(as_text=True)
    response = client.post("/auth/login?next=%2F%0D%0A%2F%2Fevil.example", data={
        "email": "fatima@example.org", "password": PASSWORD, "csrf_token": csrf_token_from(html)})
    assert response.status_code == 302
    assert response.location == "/"


@pytest.mark.parametrize("character", CONTROL_CHARACTERS, ids=[repr(c) for c in CONTROL_CHARACTERS])
def test_login_refuses_a_next_with_any_control_character(client, app_ctx, character):
    user = UserFactory()
    html = client.get("/auth/login").get_data(as_text=True)
    response = client.post(f"/auth/login?next={quote('/' + character + '//evil.example', safe='')}", data={
        "email": user.email, "password": PASSWORD, "csrf_token": csrf_token_from(html)})
    assert response.location == "/"


@pytest.mark.parametrize("target", ["/\r\n//evil.example", "/calls\n", "/\t/evil.example", "/a\x00b",
                                    "/\u2028//evil.example", "//evil.example", "/\\evil.example",
                                    "https://evil.example/", "evil.example", ""])
def test_the_safe_path_helper_refuses_anything_but_a_plain_local_path(target):
    assert safe_local_path(target) is None


@pytest.mark.parametrize("target", ["/", "/calls?page=2", "/applications/3#documents",
                                    "/staff/applications?q=amani njeri"])
def test_the_safe_path_helper_keeps_ordinary_local_paths(target):
    assert safe_local_path(target) == target
