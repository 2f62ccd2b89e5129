"""An alumnus answers a follow-up through the emailed link; staff see the answer in the timeline and dashboard."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from fellowship.alumni.followups import run_daily, schedule_follow_ups
from fellowship.auth.models import Role, User
from fellowship.calls.models import Call
from fellowship.extensions import db
from tests.alumni.factories import make_alumnus
from tests.factories import PASSWORD, UserFactory
from tests.servers import text_body

pytestmark = [pytest.mark.browser, pytest.mark.worker]


def test_an_alumnus_answers_through_the_emailed_link_and_staff_see_it(
        live_server, browser, worker, smtp_server, app_ctx, artifacts_dir):
    fellow = make_alumnus(returned_on=date(2025, 9, 15),
                          application_fields={"nationality": "KE", "region": "Africa", "given_name": "Achieng",
                                              "family_name": "Otieno"})
    alumnus = db.session.get_one(User, fellow.user_id)
    staff = UserFactory(email="office@example.org", roles=[Role.STAFF])
    schedule_follow_ups(fellow)
    db.session.commit()

    # The daily job, on the day the six-month follow-up is due, emails the alumnus a personal link.
    summary = run_daily(now=datetime(2026, 3, 16, 1, 0, tzinfo=UTC))
    assert summary.sent == 1
    [invitation] = smtp_server.wait_for(1, recipient=alumnus.email, timeout=60)
    link = next(word for word in text_body(invitation).split() if "/follow-up/" in word)

    # The alumnus answers without logging in.
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(15000)
    page.goto(live_server + link.removeprefix("http://localhost"))
    page.get_by_label("Country where you live").select_option("KE")
    page.get_by_label("Country where you work").select_option("KE")
    page.get_by_label("Current position").fill("Head of Water Policy")
    page.get_by_label("Organisation").fill("Ministry of Water, Kenya")
    page.get_by_label("Sector").select_option("government")
    page.get_by_label("Country of this position").select_option("KE")
    page.get_by_role("group", name="Is this environmental work?").get_by_label("Yes").check()
    page.get_by_label("Leadership level").select_option("senior_leader")
    page.get_by_label("Projects you led since your last follow-up").fill("3")
    page.get_by_label("People you trained").fill("120")
    japan = page.get_by_role("group", name="Do you collaborate with people or institutions in Japan?")
    japan.get_by_label("Yes").check()
    page.get_by_role("button", name="Send my answers").click()
    assert "thank" in page.locator("main").inner_text().lower()
    page.goto(live_server + link.removeprefix("http://localhost"))  # the link works once
    assert "already answered" in page.locator("main").inner_text()
    context.close()

    # Staff see the answer in the person's timeline and in the outcome dashboard.
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    page.goto(f"{live_server}/auth/login")
    page.get_by_label("Email").fill(staff.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server}/staff/alumni/{fellow.id}")
    timeline = page.locator("main").inner_text()
    assert "Head of Water Policy" in timeline and "Ministry of Water, Kenya" in timeline
    assert "120" in timeline  # people trained, from the answer
    page.screenshot(path=str(artifacts_dir / "alumni-timeline.png"), full_page=True)
    page.goto(f"{live_server}/staff/outcomes?cohort={fellow.call_id}")
    dashboard = page.locator("main").inner_text()
    # Returned home, in environmental work, in leadership, answered: 1 of 1 each, in the cohort's row.
    cohort = db.session.get_one(Call, fellow.call_id).title
    assert f"{cohort}\t1\t100.0% (1/1)\t100.0% (1/1)\t100.0% (1/1)\t100.0% (1/1)" in dashboard
    page.screenshot(path=str(artifacts_dir / "outcomes.png"), full_page=True)
    context.close()
