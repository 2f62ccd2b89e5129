"""The demo's emails link to the port `make run` serves, and the demo alumnus has one survey waiting, emailed."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from config import config_from_environment
from fellowship.demo import DEMO_ALUMNUS
from fellowship.extensions import db
from fellowship.notifications.models import OutboxMessage


def test_links_in_emails_follow_the_port_make_run_serves(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PUBLIC_URL", raising=False)
    monkeypatch.setenv("PORT", "8123")
    assert config_from_environment("development").PUBLIC_URL == "http://127.0.0.1:8123"
    monkeypatch.delenv("PORT")
    assert config_from_environment("development").PUBLIC_URL == "http://127.0.0.1:5000"
    monkeypatch.setenv("PORT", "8123")
    monkeypatch.setenv("PUBLIC_URL", "https://fellowship.example.org/")
    assert config_from_environment("development").PUBLIC_URL == "https://fellowship.example.org"


def test_the_demo_alumnus_is_emailed_the_survey_waiting_and_its_link_opens_it(
        demo: Flask, client: FlaskClient) -> None:
    [invitation] = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.recipient == DEMO_ALUMNUS, OutboxMessage.template == "alumni/followup_invitation")).all()
    link = invitation.context["survey_url"]
    assert link.startswith(demo.config["PUBLIC_URL"] + "/follow-up/")
    page = client.get(link.removeprefix(demo.config["PUBLIC_URL"]))
    assert page.status_code == 200 and "follow-up" in page.get_data(as_text=True)
