"""Selection in stages, in a real browser (issue 15's first "must show"): staff configure review -> shortlist ->
interview with weights; the reviewer scores; staff advance the top 2 on the confirmation page and send the outcome;
a candidate whose zone is Africa/Dakar books a slot shown in Dakar time and receives the email with a valid .ics;
the interviewer scores; the final ranking combines the stages by the weights; decisions go out."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from fellowship.auth.models import Role
from fellowship.extensions import db
from fellowship.models import utcnow
from fellowship.selection.models import SelectionStage, StageKind
from tests.factories import PASSWORD, CallFactory, UserFactory, submitted_application
from tests.selection.factories import AssignmentFactory, add_rubric, panel_reviewer
from tests.servers import text_body

pytestmark = [pytest.mark.browser, pytest.mark.worker]


def log_in(page, live_server: str, email: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{live_server}/auth/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.locator(".flashes").wait_for()


def new_page(browser, width: int = 1200):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    return context, page


def test_staged_selection_with_an_interview_booked_from_dakar(
        live_server, browser, worker, smtp_server, app_ctx, artifacts_dir):
    call = CallFactory(title="Environmental Leaders 2028", places=1, reviewers_per_application=1)
    add_rubric(call, 1)
    awa = UserFactory(email="awa@example.org", full_name="Awa Diop", time_zone="Africa/Dakar")
    people = [(awa, "Awa", "Diop", "SN", "Africa"),
              (UserFactory(email="rahim@example.org", full_name="Rahim Uddin", time_zone="Asia/Dhaka"),
               "Rahim", "Uddin", "BD", "Asia"),
              (UserFactory(email="lena@example.org", full_name="Lena Quispe"), "Lena", "Quispe", "PE",
               "Latin America and the Caribbean")]
    applications = [submitted_application(call, applicant=u, given_name=g, family_name=f, nationality=n, region=r)
                    for u, g, f, n, r in people]
    reviewer = panel_reviewer(call, email="rev@example.org")
    for application in applications:
        AssignmentFactory(application=application, reviewer_id=reviewer.id)
    interviewer = UserFactory(email="ines@example.org", full_name="Ines Interviewer", roles=[Role.REVIEWER],
                              time_zone="Asia/Tokyo")
    chair = UserFactory(email="chair@example.org", roles=[Role.STAFF])
    awa_app, rahim_app, lena_app = applications
    rahim_app_email = people[1][0].email

    # Staff configure the stages: the review round, a shortlist of 2, an interview; weights review 40, interview 60.
    context, page = new_page(browser)
    log_in(page, live_server, chair.email)
    page.goto(f"{live_server}/staff/calls/{call.id}/stages")
    add = page.locator("form", has=page.get_by_role("button", name="Save the stage")).last
    add.get_by_label("Kind").select_option("shortlist")
    add.get_by_label("Name", exact=True).fill("Shortlist")
    add.get_by_label("Candidates who advance").fill("2")
    add.get_by_role("button", name="Save the stage").click()
    add = page.locator("form", has=page.get_by_role("button", name="Save the stage")).last
    add.get_by_label("Kind").select_option("interview")
    add.get_by_label("Name", exact=True).fill("Interview")
    add.get_by_role("button", name="Save the stage").click()
    db.session.expire_all()
    stages = {s.kind: s for s in db.session.query(SelectionStage).filter_by(call_id=call.id)}
    review, shortlist, interview = stages[StageKind.REVIEW], stages[StageKind.SHORTLIST], stages[StageKind.INTERVIEW]
    page.get_by_label("Review (%)").fill("40")
    page.get_by_label("Interview (%)").fill("60")
    page.get_by_role("button", name="Save the weights").click()
    assert "Weights saved." in page.locator(".flashes").inner_text()
    context.close()

    # The reviewer scores the three files: Rahim 5, Awa 4, Lena 2.
    context, page = new_page(browser)
    log_in(page, live_server, reviewer.email)
    for application, score in ((rahim_app, 5), (awa_app, 4), (lena_app, 2)):
        page.goto(f"{live_server}/review")
        page.get_by_role("link", name=application.reference).click()
        for fieldset in page.locator("fieldset:has(legend)").all():
            if fieldset.locator("input[type=radio]").count() == 5:
                fieldset.locator("input[type=radio]").nth(score - 1).check()
        page.get_by_label("Recommendation").select_option("support")
        page.get_by_label("Comment").fill("Scored in the journey.")
        page.get_by_role("button", name="Submit review").click()
        assert "submitted" in page.locator(".flashes").inner_text().lower()
    context.close()

    # Staff advance the top 2 on the confirmation page, then send the outcome (Lena: "not shortlisted").
    context, page = new_page(browser)
    log_in(page, live_server, chair.email)
    page.goto(f"{live_server}/staff/calls/{call.id}/stages/{shortlist.id}/confirm")
    confirmation = page.locator("main").inner_text()
    assert rahim_app.reference in confirmation and awa_app.reference in confirmation
    assert lena_app.reference in confirmation
    page.get_by_role("button", name="Confirm").click()
    page.goto(f"{live_server}/staff/calls/{call.id}/stages/{shortlist.id}/outcome")
    page.get_by_role("button", name="Send the outcome").click()

    # Staff set the interview: the panel, the rubric, a slot on a Tuesday 17:00 in Tokyo (08:00 in Dakar).
    page.goto(f"{live_server}/staff/interviews/{interview.id}")
    page.get_by_label("Email of a reviewer or staff member").fill(interviewer.email)
    page.get_by_role("button", name="Add to the panel").click()
    page.get_by_label("Criterion").fill("Leadership")
    page.get_by_role("button", name="Add the criterion").click()
    tokyo = ZoneInfo("Asia/Tokyo")
    start = (utcnow() + timedelta(days=7)).astimezone(tokyo)
    start = (start + timedelta(days=(1 - start.weekday()) % 7)).replace(hour=17, minute=0, second=0, microsecond=0)
    page.get_by_label("Starts (programme time)").fill(start.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Candidates (places)").fill("2")
    page.get_by_label("Video link, phone arrangements or place").fill("https://meet.example.org/elf")
    page.get_by_label("Interviewers").select_option(label="Ines Interviewer")
    page.get_by_role("button", name="Add the slot").click()
    assert "Interview slot added." in page.locator(".flashes").inner_text()
    context.close()

    # Awa, in Dakar, follows the emailed link and books: the time reads in Dakar, with Tokyo's beside it.
    invitation = next(m for m in smtp_server.wait_for(1, recipient=awa.email, timeout=60)
                      if "Choose your interview time" in m["Subject"])
    link = next(word for word in text_body(invitation).split() if "/interviews/" in word)
    context, page = new_page(browser, width=390)
    log_in(page, live_server, awa.email)
    page.goto(live_server + "/interviews/" + link.rsplit("/interviews/", 1)[1])
    dakar = start.astimezone(ZoneInfo("Africa/Dakar"))
    label = f"{dakar:%a} {dakar.day} {dakar:%b %Y}, 08:00 in Dakar (17:00 in Tokyo)"
    assert label in page.locator("main").inner_text()
    page.get_by_label(label, exact=False).check()
    page.get_by_role("button", name="Book this time").click()
    assert "Your interview is booked" in page.locator(".flashes").inner_text()
    page.screenshot(path=str(artifacts_dir / "interview-booked-dakar.png"), full_page=True)
    context.close()
    confirmation_email = next(m for m in smtp_server.wait_for(2, recipient=awa.email, timeout=60)
                              if "your interview on" in m["Subject"])
    [ics] = [part for part in confirmation_email.iter_attachments() if part.get_content_type() == "text/calendar"]
    [event] = Calendar.from_ical(ics.get_payload(decode=True)).walk("VEVENT")
    assert event["DTSTART"].params["TZID"] == "Africa/Dakar"
    assert event.decoded("DTSTART") == dakar

    # Staff book Rahim on his behalf.
    context, page = new_page(browser)
    log_in(page, live_server, chair.email)
    page.goto(f"{live_server}/staff/interviews/{interview.id}")
    page.locator("main table a").first.click()
    page.get_by_label("Candidate's reference number").fill(rahim_app.reference)
    page.get_by_role("button", name="Book for this candidate").click()
    assert "booked" in page.locator(".flashes").inner_text()
    context.close()

    # The interviewer scores both: Awa 5, Rahim 1 (the interview reverses the review's order).
    context, page = new_page(browser)
    log_in(page, live_server, interviewer.email)
    for application, score in ((awa_app, 5), (rahim_app, 1)):
        page.goto(f"{live_server}/")
        page.get_by_role("link", name="My interviews").click()
        page.get_by_role("link", name=application.reference, exact=False).click()
        page.locator("fieldset:has(legend)").first.locator("input[type=radio]").nth(score - 1).check()
        page.get_by_label("Notes").fill("Interviewed in the journey.")
        page.get_by_role("button", name="Save the scores").click()
        assert "saved" in page.locator(".flashes").inner_text()
    context.close()

    # The final ranking combines the stages by the weights: Awa first, Rahim second, Lena not ranked; decisions go out.
    context, page = new_page(browser)
    log_in(page, live_server, chair.email)
    page.goto(f"{live_server}/staff/calls/{call.id}/ranking")
    page.get_by_role("link", name="Lock the reviews…").click()
    page.get_by_role("button", name="Lock the reviews").click()
    ranking = page.locator("main").inner_text()
    assert ranking.index(awa_app.reference) < ranking.index(rahim_app.reference)
    page.screenshot(path=str(artifacts_dir / "ranking-over-stages.png"), full_page=True)
    page.get_by_role("link", name="Decisions").first.click()
    page.get_by_role("button", name="Record decisions…").click()
    page.get_by_role("button", name=re.compile(r"^Record \d+ decisions?$")).click()
    page.get_by_role("link", name=re.compile(r"^Review and send \d+ decisions?$")).click()
    page.get_by_role("button", name=re.compile(r"^Send \d+ decisions?$")).click()
    page.wait_for_url("**/progress/**")
    context.close()
    offers = [m for m in smtp_server.wait_for(3, recipient=awa.email, timeout=60)
              if m["Subject"].startswith("You are offered a place")]
    assert len(offers) == 1  # one place: the interview's 60% put Awa above Rahim
    smtp_server.wait_for(2, recipient=rahim_app_email, timeout=60)  # Rahim's invitation, then his decision
    db.session.expire_all()
    assert db.session.get_one(SelectionStage, review.id).weight == 40
