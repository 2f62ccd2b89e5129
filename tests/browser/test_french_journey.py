"""The applicant's journey in French in a real browser, emails delivered by a real worker over SMTP: register, apply,
name a referee whose language is Portuguese, submit. The confirmation is in French, the referee's invitation in
Portuguese, and deadlines read in French with the zone named.

Fields are found by their names, not their labels, so the test holds while the labels' translations change. The
answers of the form's sections are saved through the engine (the English journey fills every section in the browser).
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from fellowship.applications.models import Application
from fellowship.extensions import db
from tests.browser.test_application_journey import email_link
from tests.documents.files import PDF
from tests.factories import CallFactory, complete_sections, fill_answers
from tests.servers import text_body

pytestmark = [pytest.mark.browser, pytest.mark.worker]

FRENCH_DATE = re.compile(r"\d{1,2} (janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre|"
                         r"décembre) \d{4}.*\d\d:\d\d \(heure : Japon\)")
PORTUGUESE_DATE = re.compile(r"\d{1,2} de \w+ de \d{4} \d\d:\d\d \(Horário Japão\)")


def submit_form_with(page, field_name: str) -> None:
    """Click the submit button of the form holding the field named `field_name`."""
    page.locator(f"form:has([name='{field_name}']) [type=submit]").first.click()


def test_a_french_applicant_names_a_portuguese_referee_and_each_is_written_to_in_their_language(
        live_server, page, worker, smtp_server, app_ctx, tmp_path, artifacts_dir):
    call = CallFactory(title="Environmental Leaders 2027", references_required=1,
                       required_documents=["cv", "transcript", "passport"])
    pdf = tmp_path / "cv.pdf"
    pdf.write_bytes(PDF)

    # The switcher (no JavaScript: a form), then register in French.
    page.goto(f"{live_server}/auth/register")
    page.locator("#language-switcher-locale").select_option("fr")
    page.get_by_role("button", name="Change language").or_(page.get_by_role("button", name="Changer de langue")).click()
    assert page.locator("html").get_attribute("lang") == "fr"
    page.locator("[name=full_name]").fill("Awa Diop")
    page.locator("[name=email]").fill("awa@example.org")
    page.locator("[name=password]").fill("mangroves-of-casamance-27")
    page.locator("[name=confirm]").fill("mangroves-of-casamance-27")
    submit_form_with(page, "confirm")
    page.goto(email_link(smtp_server, "awa@example.org", "/auth/confirm/", live_server))
    page.locator("[name=email]").fill("awa@example.org")
    page.locator("[name=password]").fill("mangroves-of-casamance-27")
    submit_form_with(page, "password")

    # The call: its deadline in French, the zone named; apply.
    page.goto(f"{live_server}/calls/{call.id}")
    deadline = page.locator(".deadline").inner_text()
    assert FRENCH_DATE.search(deadline), deadline
    page.locator("main form [type=submit]").first.click()
    db.session.expire_all()
    application = db.session.scalars(select(Application).where(Application.call_id == call.id)).one()
    fill_answers(application, complete_sections())
    db.session.commit()

    for kind in ("cv", "transcript", "passport"):
        page.goto(f"{live_server}/applications/{application.id}/documents")
        page.locator("[name=kind]").select_option(kind)
        page.locator("[name=file]").set_input_files(str(pdf))
        submit_form_with(page, "file")
        page.locator(".flashes").wait_for()

    # The referee, written to in Portuguese.
    page.goto(f"{live_server}/applications/{application.id}/referees")
    page.locator("[name=name]").fill("Profa. Ana Souza")
    page.locator("[name=email]").fill("ana.souza@example.org")
    page.locator("[name=relation]").fill("Orientadora de mestrado")
    page.locator("main [name=locale]").select_option("pt")
    submit_form_with(page, "relation")
    [invitation] = smtp_server.wait_for(1, recipient="ana.souza@example.org", timeout=60)
    assert invitation["Subject"].startswith("Pedido de carta de referência: ")
    assert invitation["Content-Language"] == "pt"
    assert PORTUGUESE_DATE.search(text_body(invitation)), text_body(invitation)

    referee_context = page.context.browser.new_context(locale="pt-BR")
    referee_page = referee_context.new_page()
    referee_page.goto(email_link(smtp_server, "ana.souza@example.org", "/referee/", live_server))
    letter = tmp_path / "letter.pdf"
    letter.write_bytes(PDF)
    referee_page.locator("[name=file]").set_input_files(str(letter))
    submit_form_with(referee_page, "file")
    referee_context.close()

    # Submit, and the confirmation in French.
    page.goto(f"{live_server}/applications/{application.id}/review")
    page.locator("[name=declare_true]").check()
    page.locator("[name=consent_privacy]").check()
    submit_form_with(page, "consent_privacy")
    page.locator(".flashes").wait_for()
    assert "ELF-2027-00001" in page.locator(".flashes").inner_text()
    page.screenshot(path=str(artifacts_dir / "application-submitted-fr.png"), full_page=True)
    confirmation = [m for m in smtp_server.wait_for(2, recipient="awa@example.org", timeout=60)
                    if "ELF-2027-00001" in str(m["Subject"])]
    assert [str(m["Subject"]) for m in confirmation] == ["Candidature reçue : ELF-2027-00001"]
    assert confirmation[0]["Content-Language"] == "fr"
