"""The ranking fits a 1280 px window on the demo data without cutting its last column, also while a row's adjust form
is open, and that form names the application it adjusts (the row's name column stays in view)."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from fellowship.calls.models import Call
from fellowship.demo import DEMO_PASSWORD
from fellowship.extensions import db

pytestmark = [pytest.mark.browser]

OVERFLOW = """() => { const box = document.querySelector('[aria-label="Ranked applications"]');
  return [box.scrollWidth, box.clientWidth]; }"""


def test_the_ranking_fits_1280_px_and_the_adjust_form_names_its_application(app: Flask, demo: Flask,
                                                                            live_server: str, browser) -> None:
    with app.app_context():
        call_id = db.session.scalars(select(Call.id).where(Call.title == "Environmental Leaders 2026")).one()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{live_server}/auth/login")
    page.get_by_label("Email").fill("staff@example.org")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server}/staff/calls/{call_id}/ranking")
    scroll_width, client_width = page.evaluate(OVERFLOW)
    assert scroll_width <= client_width, f"the ranking is {scroll_width - client_width} px too wide at 1280 px"

    first_row = page.locator("table.ranking tbody tr").first
    name = first_row.locator("th").inner_text()
    first_row.get_by_role("link", name="Adjust…").click()
    scroll_width, client_width = page.evaluate(OVERFLOW)
    widths = page.evaluate("""() => [...document.querySelectorAll('table.ranking thead th')].map(
        th => th.textContent.trim().slice(0, 12) + ':' + th.getBoundingClientRect().width)""")
    assert scroll_width <= client_width, f"the adjust form pushes the last column out of view: {widths}"
    form = page.locator("form.adjust")
    assert name.splitlines()[1].split()[0] in form.inner_text()  # "Adjusting <name>"
    assert form.is_visible()
    context.close()
