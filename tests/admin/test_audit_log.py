"""The audit log reads as sentences, narrows by person, object, kind of action and dates, pages, and exports to a
CSV that is itself audited and safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import html as html_lib
import io
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, select

from fellowship.audit.models import AuditEntry
from fellowship.audit.services import record
from fellowship.auth.models import Role
from fellowship.extensions import db
from tests.conftest import login
from tests.factories import ApplicationFactory, CallFactory, UserFactory, submitted_application
from tests.querycount import counted_statements


def sentences(page_html: str) -> list[str]:
    """The 'What happened' cell of each row, as text."""
    body = page_html[page_html.index("<tbody>"):page_html.index("</tbody>")]
    cells = re.findall(r"<tr>\s*<td>[^<]*</td>\s*<td>(.*?)</td>\s*</tr>", body, re.S)
    return [html_lib.unescape(re.sub(r"<[^>]+>", "", re.split(r'<p class="audit-details hint">', c)[0])).strip()
            for c in cells]


@pytest.fixture
def world(app_ctx):
    admin = UserFactory(roles=[Role.ADMIN], full_name="Aiko Admin", email="aiko@example.org", time_zone="UTC")
    staff = UserFactory(roles=[Role.STAFF], full_name="Sora Staff", email="sora@example.org")
    call = CallFactory(title="Environmental Leaders 2026", year=2026)
    application = submitted_application(call)
    application.reference = "ELF-2026-00012"
    db.session.commit()
    entries = {
        "decision": record("selection.decision_recorded", application, actor_id=staff.id, outcome="accept",
                           reason="Strong"),
        "locked": record("selection.panel_locked", call, actor_id=staff.id),
        "granted": record("auth.role_granted", staff, actor_id=admin.id, role="staff"),
        "unknown": record("selection.panel_fiddled", call, actor_id=staff.id),
        "system": record("eligibility.call_screened", call, screened=40, eligible=31, ineligible=9),
    }
    db.session.commit()
    return {"admin": admin, "staff": staff, "call": call, "application": application, "entries": entries}


def test_the_audit_log_reads_as_sentences_naming_people_and_objects(client, world):
    login(client, world["admin"].email)
    said = sentences(client.get("/admin/audit").get_data(as_text=True))
    assert said == [
        "The system screened 40 applications of “Environmental Leaders 2026”: 31 eligible.",
        "Sora Staff: panel fiddled — “Environmental Leaders 2026”.",  # an action no sentence knows yet
        "Aiko Admin gave Sora Staff the staff role.",
        "Sora Staff locked the reviews of “Environmental Leaders 2026”.",
        "Sora Staff recorded 'Accept' for ELF-2026-00012.",  # the outcome's label, in the reader's language
        "The system created the application form of “Environmental Leaders 2026”.",  # a new call's default form
    ]


def test_details_a_sentence_does_not_say_are_shown_beside_it(client, world):
    login(client, world["admin"].email)
    page = client.get("/admin/audit").get_data(as_text=True)
    assert '<p class="audit-details hint">reason: <bdi data-data>Strong</bdi></p>' in page
    assert "ineligible: <bdi data-data>9</bdi>" in page


def test_filter_by_person_by_name_or_email(client, world):
    login(client, world["admin"].email)
    by_name = sentences(client.get("/admin/audit?who=aiko").get_data(as_text=True))
    assert by_name == ["Aiko Admin gave Sora Staff the staff role."]
    by_email = sentences(client.get("/admin/audit?who=sora@example").get_data(as_text=True))
    assert len(by_email) == 3 and all(s.startswith("Sora Staff") for s in by_email)


def test_a_persons_name_in_a_sentence_links_to_their_entries(client, world):
    login(client, world["admin"].email)
    page = client.get("/admin/audit").get_data(as_text=True)
    link = f'/admin/audit?actor_id={world["staff"].id}'
    assert f'<a href="{link}">Sora Staff</a>' in page
    followed = client.get(link).get_data(as_text=True)
    assert "Showing only the entries by Sora Staff." in followed and len(sentences(followed)) == 3


def test_filter_by_object_reference_or_kind(client, world):
    login(client, world["admin"].email)
    by_reference = sentences(client.get("/admin/audit?object=elf-2026-00012").get_data(as_text=True))
    assert by_reference == ["Sora Staff recorded 'Accept' for ELF-2026-00012."]
    accounts = sentences(client.get("/admin/audit?object_type=User").get_data(as_text=True))
    assert accounts == ["Aiko Admin gave Sora Staff the staff role."]
    calls = sentences(client.get("/admin/audit?object_type=Call&object=leaders").get_data(as_text=True))
    assert len(calls) == 3
    application = world["application"]
    followed = client.get(f"/admin/audit?object_type=Application&object_id={application.id}").get_data(as_text=True)
    assert "Showing only the entries about ELF-2026-00012." in followed and len(sentences(followed)) == 1


def test_filter_by_kind_of_action_one_action_or_a_whole_area(client, world):
    login(client, world["admin"].email)
    page = client.get("/admin/audit?action=selection.panel_locked").get_data(as_text=True)
    assert sentences(page) == ["Sora Staff locked the reviews of “Environmental Leaders 2026”."]
    assert '<option value="selection.panel_locked" selected>Panel locked</option>' in page
    assert len(sentences(client.get("/admin/audit?action=selection.").get_data(as_text=True))) == 3


def test_filter_by_date_range_in_the_viewers_time_zone(client, world):
    entry = world["entries"]["decision"]
    entry.created_at = datetime(2026, 3, 13, 16, 0, tzinfo=UTC)  # 14 March, 01:00 in Tokyo
    world["entries"]["locked"].created_at = datetime(2026, 3, 12, 10, 0, tzinfo=UTC)
    world["admin"].time_zone = "Asia/Tokyo"
    db.session.commit()
    login(client, world["admin"].email)
    one_day = sentences(client.get("/admin/audit?since=2026-03-14&until=2026-03-14").get_data(as_text=True))
    assert one_day == ["Sora Staff recorded 'Accept' for ELF-2026-00012."]
    both = sentences(client.get("/admin/audit?since=2026-03-12&until=2026-03-14").get_data(as_text=True))
    assert len(both) == 2
    bad = client.get("/admin/audit?since=14/03/2026").get_data(as_text=True)
    assert "“From” must be a date such as 2026-03-14; it was left out." in bad and len(sentences(bad)) == 6


def test_the_log_is_paginated_and_the_pages_keep_the_filters(client, world):
    login(client, world["admin"].email)
    page = client.get("/admin/audit?action=selection.&per_page=2").get_data(as_text=True)
    assert "Page 1 of 2" in page and len(sentences(page)) == 2
    assert 'href="/admin/audit?page=2&amp;action=selection.&amp;per_page=2"' in page or \
           re.search(r'href="/admin/audit\?[^"]*page=2[^"]*action=selection\.', page)


def test_a_page_of_the_log_costs_the_same_queries_however_many_objects_it_names(client, world):
    # One query per kind of object on the page: both pages below name the same kinds (the call's form, named only
    # by its creation entry, would drop off the second page and make one query fewer).
    db.session.execute(delete(AuditEntry).where(AuditEntry.action == "questions.questionnaire_created"))
    db.session.commit()
    login(client, world["admin"].email)
    with counted_statements() as few:
        client.get("/admin/audit")
    call = world["call"]
    for i in range(30):
        other = ApplicationFactory(call=call, applicant=UserFactory())
        record("applications.started", other, actor_id=other.applicant_id)
        record("auth.profile_updated", world["staff"], actor_id=world["staff"].id, time_zone="UTC")
        record("calls.call_updated", call, actor_id=world["staff"].id, status="open", title=f"t{i}")
    db.session.commit()
    with counted_statements() as many:
        page = client.get("/admin/audit").get_data(as_text=True)
    assert any(re.fullmatch(r".+ started draft application #\d+\.", said) for said in sentences(page))
    assert len(many) == len(few), (len(few), len(many))


def test_the_csv_export_has_the_filtered_sentences_is_audited_and_formula_safe(client, world):
    world["staff"].full_name = "=HYPERLINK(\"http://evil.example\")"
    db.session.commit()
    login(client, world["admin"].email)
    response = client.get("/admin/audit.csv?who=sora")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:4] == ["When (UTC)", "Who", "Who (email)", "What happened"]
    assert len(rows) == 1 + 3
    assert all(row[1].startswith("'=HYPERLINK") for row in rows[1:])  # shown as text, never run
    assert all(row[3].startswith("'=HYPERLINK") for row in rows[1:])
    decision = next(row for row in rows if row[4] == "selection.decision_recorded")
    assert decision[5:8] == ["Application", str(world["application"].id), "ELF-2026-00012"]
    assert decision[8] == '{"reason": "Strong"}'
    db.session.expire_all()
    exported = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "admin.audit_exported")).one()
    assert exported.actor_id == world["admin"].id and exported.details == {"rows": 3, "filters": {"who": "sora"}}


def test_only_admins_read_or_export_the_log(client, world):
    login(client, world["staff"].email)
    assert client.get("/admin/audit").status_code == 403
    assert client.get("/admin/audit.csv").status_code == 403
