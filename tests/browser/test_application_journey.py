"""The applicant's whole journey in a real browser, with emails delivered by a real worker over SMTP."""

from __future__ import annotations

import pytest

from tests.documents.files import PDF  # a real PDF: uploads are read by a PDF parser
from tests.factories import CallFactory
from tests.servers import text_body

pytestmark = [pytest.mark.browser, pytest.mark.worker]

ESSAY = "Clean rivers need leaders who can join science, policy and the people who live along them. "


def email_link(smtp_server, recipient: str, fragment: str, live_server: str, count: int = 1) -> str:
    messages = smtp_server.wait_for(count, recipient=recipient, timeout=60)
    for message in reversed(messages):
        for word in text_body(message).split():
            if fragment in word:
                return live_server + word.removeprefix("http://localhost")
    raise AssertionError(f"no link with {fragment} in the emails to {recipient}")


def test_register_apply_upload_referee_letter_submit_and_get_the_confirmation(
        live_server, page, worker, smtp_server, app_ctx, tmp_path, artifacts_dir):
    call = CallFactory(title="Environmental Leaders 2027", references_required=1,
                       required_documents=["cv", "transcript", "passport"])
    pdf = tmp_path / "cv.pdf"
    pdf.write_bytes(PDF)

    # Register and confirm.
    page.goto(f"{live_server}/auth/register")
    page.get_by_label("Full name").fill("Thi Lan Nguyen")
    page.get_by_label("Email").fill("lan@example.org")
    page.get_by_label("Password", exact=True).fill("mekong-delta-rice-37")
    page.get_by_label("Repeat password").fill("mekong-delta-rice-37")
    page.get_by_role("button", name="Create account").click()
    page.goto(email_link(smtp_server, "lan@example.org", "/auth/confirm/", live_server))
    page.get_by_label("Email").fill("lan@example.org")
    page.get_by_label("Password").fill("mekong-delta-rice-37")
    page.get_by_role("button", name="Log in").click()

    # Find the call and start (on a phone the menu opens from its button).
    page.locator(".menu > summary").click()
    page.get_by_role("link", name="Open calls", exact=True).click()
    page.get_by_role("link", name="Environmental Leaders 2027").click()
    page.get_by_role("button", name="Start an application").click()
    page.get_by_role("link", name="Personal details").click()

    # Every section, with "Save and continue".
    page.get_by_label("Date of birth").fill("1997-05-20")
    page.get_by_label("Female", exact=True).check()  # up to six choices are radio buttons
    page.get_by_label("Nationality").select_option("VN")
    page.get_by_label("Country of residence").select_option("VN")
    page.get_by_role("button", name="Save and continue").click()
    page.get_by_label("Master's degree", exact=True).check()
    page.get_by_label("Subject of that degree").fill("Environmental engineering")
    page.get_by_label("University or institution").fill("Hanoi University of Science")
    page.get_by_label("Year of graduation").fill("2021")
    page.get_by_role("button", name="Save and continue").click()
    page.get_by_label("Current position").fill("Researcher")
    page.get_by_label("Employer").fill("Institute of Water Resources")
    page.get_by_label("University / research", exact=True).check()
    page.get_by_label("Years of work experience").fill("3")
    page.get_by_role("button", name="Save and continue").click()
    page.get_by_label("Main environmental field").select_option("water")
    page.get_by_label("Your work in this field").fill(ESSAY * 3)
    page.get_by_role("button", name="Save and continue").click()
    page.get_by_label("What you will study in Japan, and why").fill(ESSAY * 12)
    page.get_by_role("button", name="Save and continue").click()
    page.get_by_label("How you will lead environmental work when you return home").fill(ESSAY * 12)
    page.get_by_role("button", name="Save and continue").click()
    page.get_by_label("Motivation essay").fill(ESSAY * 15)
    page.get_by_role("button", name="Save and continue").click()
    page.get_by_label("English (CEFR level)").select_option("C1")
    page.get_by_label("Japanese (CEFR level)").select_option("A2")
    page.get_by_role("button", name="Save and continue").click()

    # Documents: one upload per required kind.
    for kind in ("cv", "transcript", "passport"):
        page.get_by_label("Type of document").select_option(kind)
        page.get_by_label("File", exact=True).set_input_files(str(pdf))
        page.get_by_role("button", name="Upload").click()
        page.locator(".flashes").wait_for()

    # A referee, who uploads a letter through the emailed link, without an account.
    overview = page.url
    page.goto(overview.split("/documents")[0])
    page.get_by_role("link", name="Referees").click()
    page.get_by_label("Referee's full name").fill("Prof. Hoang Van Minh")
    page.get_by_label("Referee's email", exact=True).fill("prof.minh@example.org")
    page.get_by_label("How they know you").fill("Master's supervisor")
    page.get_by_role("button", name="Add referee and send the invitation").click()
    link = email_link(smtp_server, "prof.minh@example.org", "/referee/", live_server)

    referee_context = page.context.browser.new_context()
    referee_page = referee_context.new_page()
    referee_page.goto(link)
    letter = tmp_path / "letter.pdf"
    letter.write_bytes(PDF)
    referee_page.get_by_label("Reference letter").set_input_files(str(letter))
    referee_page.get_by_role("button", name="Upload the letter").click()
    assert "thank" in referee_page.locator("main").inner_text().lower()
    referee_context.close()

    page.reload()
    assert "Letter received" in page.locator("main").inner_text()

    # Submit and receive the confirmation.
    page.goto(overview.split("/documents")[0])
    assert "Everything is complete" in page.locator("main").inner_text()
    page.get_by_role("link", name="Review and submit").click()
    page.get_by_label("The information in this application").check()
    page.get_by_label("I consent to the programme processing").check()
    page.get_by_role("button", name="Submit application").click()
    flash = page.locator(".flashes").inner_text()
    assert "Your reference number is ELF-2027-00001" in flash
    page.screenshot(path=str(artifacts_dir / "application-submitted.png"), full_page=True)

    confirmation = [m for m in smtp_server.wait_for(3, recipient="lan@example.org", timeout=60)
                    if m["Subject"] == "Application received: ELF-2027-00001"]
    assert len(confirmation) == 1
    assert "ELF-2027-00001" in text_body(confirmation[0])
    assert call.id
