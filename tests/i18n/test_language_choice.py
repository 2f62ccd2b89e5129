"""Which language a page is in: the switcher (no JavaScript), the account's saved choice, the browser's, English."""

from __future__ import annotations

import re

from sqlalchemy import select

from fellowship.auth.models import User
from fellowship.extensions import db
from tests.conftest import csrf_token_from, login, submit_form
from tests.factories import UserFactory


def html_tag(html: str) -> str:
    match = re.search(r"<html[^>]*>", html)
    assert match, "the page has no <html> tag"
    return match.group(0)


def switch(client, locale: str, next_path: str = "/calls"):
    token = csrf_token_from(client.get(next_path).get_data(as_text=True))
    return client.post("/language", data={"locale": locale, "next": next_path, "csrf_token": token})


def test_the_switcher_shows_the_site_in_the_chosen_language_and_returns_to_the_page(client, app_ctx):
    response = switch(client, "fr", "/calls?page=1")
    assert response.status_code == 302 and response.headers["Location"] == "/calls?page=1"
    assert "locale=fr" in response.headers["Set-Cookie"]
    html = client.get("/calls").get_data(as_text=True)
    assert html_tag(html) == '<html lang="fr" dir="ltr">'
    assert "Appels ouverts" in html  # the menu, from the French catalog


def test_the_switcher_is_on_every_page_as_a_form_with_each_language_named_in_itself(client, app_ctx):
    html = client.get("/auth/login").get_data(as_text=True)
    form = re.search(r'<form method="post" action="/language".*?</form>', html, re.S)
    assert form, "no language switcher form posting to /language"
    assert 'name="csrf_token"' in form.group(0) and "<script" not in html
    for code, name in {"fr": "Français", "pt": "Português", "es": "Español", "ar": "العربية", "ja": "日本語"}.items():
        assert f'lang="{code}">{name}</option>' in form.group(0) or f'lang="{code}" >{name}' in form.group(0)


def test_the_switcher_never_sends_anyone_to_another_site(client, app_ctx):
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        token = csrf_token_from(client.get("/calls").get_data(as_text=True))
        response = client.post("/language", data={"locale": "fr", "next": target, "csrf_token": token})
        assert response.status_code == 302 and response.headers["Location"] == "/", target


def test_an_unknown_language_changes_nothing(client, app_ctx):
    response = switch(client, "xx")
    assert "locale=" not in response.headers.get("Set-Cookie", "")
    assert html_tag(client.get("/calls").get_data(as_text=True)).startswith('<html lang="en"')


def test_arabic_pages_are_right_to_left(client, app_ctx):
    switch(client, "ar")
    assert html_tag(client.get("/").get_data(as_text=True)) == '<html lang="ar" dir="rtl">'


def test_without_a_choice_the_browser_language_decides_then_english(client, app_ctx):
    html = client.get("/calls", headers={"Accept-Language": "pt-BR,pt;q=0.9,en;q=0.5"}).get_data(as_text=True)
    assert html_tag(html) == '<html lang="pt" dir="ltr">'
    html = client.get("/calls", headers={"Accept-Language": "de-DE,de;q=0.9"}).get_data(as_text=True)
    assert html_tag(html) == '<html lang="en" dir="ltr">'


def test_a_logged_in_users_choice_is_saved_on_the_account_and_follows_them_to_another_device(app, app_ctx):
    UserFactory(email="amani@example.org")
    first = app.test_client()
    login(first, "amani@example.org")
    switch(first, "ar", "/")
    assert db.session.scalars(select(User.locale).where(User.email == "amani@example.org")).one() == "ar"
    other = app.test_client()  # no cookie here: the account's saved language wins over the browser's
    login(other, "amani@example.org")
    html = other.get("/", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert html_tag(html) == '<html lang="ar" dir="rtl">'


def test_the_profile_page_changes_the_accounts_language(client, app_ctx):
    UserFactory(email="amani@example.org", full_name="Amani Njeri", time_zone="Africa/Nairobi")
    login(client, "amani@example.org")
    assert 'name="locale"' in client.get("/auth/profile").get_data(as_text=True)
    response = submit_form(client, "/auth/profile", {"full_name": "Amani Njeri", "time_zone": "Africa/Nairobi",
                                                     "locale": "pt"})
    assert response.status_code == 302
    assert db.session.scalars(select(User.locale).where(User.email == "amani@example.org")).one() == "pt"
    assert html_tag(client.get("/auth/profile").get_data(as_text=True)).startswith('<html lang="pt"')


def test_an_account_keeps_the_language_its_registration_page_was_read_in(client, app_ctx):
    switch(client, "fr", "/auth/register")
    response = submit_form(client, "/auth/register", {
        "full_name": "Awa Diop", "email": "awa@example.org", "password": "rivers and mangroves 2027",
        "confirm": "rivers and mangroves 2027"})
    assert response.status_code == 302
    assert db.session.scalars(select(User.locale).where(User.email == "awa@example.org")).one() == "fr"
