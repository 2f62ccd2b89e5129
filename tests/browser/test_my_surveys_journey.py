"""The demo alumnus logs in, finds the survey waiting on the home page and in "My surveys", and answers it there:
no emailed link needed."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from fellowship.alumni.models import FollowUp, FollowUpResponse, FollowUpStatus
from fellowship.auth.models import User
from fellowship.demo import DEMO_ALUMNUS, DEMO_PASSWORD
from fellowship.extensions import db
from fellowship.fellows.models import Fellow

pytestmark = [pytest.mark.browser]


def test_the_demo_alumnus_answers_a_survey_from_my_surveys(app: Flask, demo: Flask, live_server: str, page,
                                                           artifacts_dir) -> None:
    page.goto(f"{live_server}/auth/login")
    page.get_by_label("Email").fill(DEMO_ALUMNUS)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    assert "1 survey is waiting" in page.locator("#home-alumnus").inner_text()

    page.locator("summary", has_text="Menu").click()  # a phone-sized window: the menu is folded
    page.get_by_role("link", name="My surveys").click()
    page.get_by_role("link", name="Answer the").first.click()
    page.get_by_label("Country where you live").select_option("KE")
    page.get_by_label("Country where you work").select_option("KE")
    page.get_by_label("Current position").fill("Head of Water Policy")
    page.get_by_label("Organisation").fill("Ministry of Water, Kenya")
    page.get_by_label("Sector").select_option("government")
    page.get_by_label("Country of this position").select_option("KE")
    page.get_by_role("group", name="Is this environmental work?").get_by_label("Yes").check()
    page.get_by_label("Leadership level").select_option("senior_leader")
    page.get_by_label("People you trained").fill("40")
    japan = page.get_by_role("group", name="Do you collaborate with people or institutions in Japan?")
    japan.get_by_label("No").check()
    page.get_by_role("button", name="Send my answers").click()

    main = page.locator("main").inner_text()
    assert "your answers are saved" in main and "No survey is waiting for you" in main
    page.screenshot(path=str(artifacts_dir / "my-surveys-answered.png"), full_page=True)
    with app.app_context():
        alumnus = db.session.scalars(select(User).where(User.email == DEMO_ALUMNUS)).one()
        fellow_ids = select(Fellow.id).where(Fellow.user_id == alumnus.id)
        answered = db.session.scalars(select(FollowUp).where(FollowUp.fellow_id.in_(fellow_ids),
                                                             FollowUp.status == FollowUpStatus.SENT)).all()
        assert answered == []
        responses = db.session.scalars(select(FollowUpResponse).where(FollowUpResponse.fellow_id.in_(fellow_ids))
                                       .order_by(FollowUpResponse.id.desc())).first()
        assert responses is not None and responses.people_trained == 40
