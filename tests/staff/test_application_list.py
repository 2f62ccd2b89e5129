"""The staff list of a call's applications: filters, search, pages, CSV export, access, and a fixed query count."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, select

from fellowship.applications.models import Application, ApplicationStatus, EnvironmentalField
from fellowship.audit.models import AuditEntry
from fellowship.auth.models import Role, User
from fellowship.calls.models import Call
from fellowship.extensions import db
from tests.conftest import login
from tests.factories import ApplicationFactory, CallFactory, UserFactory
from tests.querycount import counted_statements

SUBMITTED_AT = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def add(call: Call, reference: str | None, *, status: ApplicationStatus = ApplicationStatus.SUBMITTED,
        given: str = "Amani", family: str = "Njeri", **fields: object) -> Application:
    return ApplicationFactory(
        call=call, status=status, reference=reference, given_name=given, family_name=family,
        search_name=f"{given} {family}".lower(), submitted_at=SUBMITTED_AT if reference else None, **fields)


@pytest.fixture
def call(app_ctx) -> Call:
    """A call with a spread of applications (references 00001-00006 and a draft)."""
    call = CallFactory(title="Environmental Leaders 2027")
    add(call, "ELF-2027-00001", given="Amani", family="Njeri", nationality="KE", region="Africa",
        environmental_field=EnvironmentalField.WATER, status=ApplicationStatus.UNDER_REVIEW, eligible=True)
    add(call, "ELF-2027-00002", given="Chinedu", family="Okafor", nationality="NG", region="Africa",
        environmental_field=EnvironmentalField.ENERGY, status=ApplicationStatus.INELIGIBLE, eligible=False)
    add(call, "ELF-2027-00003", given="Linh", family="Nguyen", nationality="VN", region="Asia",
        environmental_field=EnvironmentalField.WATER, status=ApplicationStatus.UNDER_REVIEW, eligible=False,
        eligibility_override=True, eligibility_override_reason="Checked by hand.")
    add(call, "ELF-2027-00004", given="Sita", family="Gurung", nationality="NP", region="Asia",
        environmental_field=EnvironmentalField.BIODIVERSITY)
    add(call, "ELF-2027-00005", given="Abebe", family="Njeri-Bekele", nationality="ET", region="Africa",
        environmental_field=EnvironmentalField.WASTE)
    add(call, None, status=ApplicationStatus.DRAFT, given="Draft", family="Person", nationality="GH",
        region="Africa", environmental_field=EnvironmentalField.WATER)
    other = CallFactory(title="Another call")
    add(other, "ELF-2027-00099", given="Other", family="Call", nationality="KE", region="Africa")
    return call


@pytest.fixture
def staff_client(client, app_ctx):
    login(client, UserFactory(roles=[Role.STAFF]).email)
    return client


def references(html: str) -> list[str]:
    return re.findall(r">(ELF-\d{4}-\d{5})</a>", html)


def list_page(client, call: Call, **params: object) -> str:
    response = client.get(f"/staff/calls/{call.id}/applications", query_string=params)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_list_shows_every_application_of_the_call_with_country_names_and_status_counts(staff_client, call):
    html = list_page(staff_client, call)
    assert "Applications: Environmental Leaders 2027" in html
    assert references(html) == [f"ELF-2027-0000{n}" for n in range(1, 6)]
    assert "Draft #" in html and "ELF-2027-00099" not in html
    assert "Kenya" in html and "Vietnam" in html
    assert ">KE<" not in html
    for label in ("All (6)", "Draft (1)", "Submitted (2)", "Ineligible (1)", "Under review (2)"):
        assert label in html, label
    assert "Eligible (override)" in html and "Not screened" in html


@pytest.mark.parametrize(("params", "expected"), [
    ({"status": "submitted"}, ["ELF-2027-00004", "ELF-2027-00005"]),
    ({"nationality": "NG"}, ["ELF-2027-00002"]),
    ({"region": "Asia"}, ["ELF-2027-00003", "ELF-2027-00004"]),
    ({"field": "water", "status": "under_review"}, ["ELF-2027-00001", "ELF-2027-00003"]),
    ({"eligibility": "eligible"}, ["ELF-2027-00001", "ELF-2027-00003"]),
    ({"eligibility": "ineligible"}, ["ELF-2027-00002"]),
    ({"eligibility": "not_screened", "region": "Africa"}, ["ELF-2027-00005"]),
    ({"eligibility": "overridden"}, ["ELF-2027-00003"]),
    ({"q": "njeri"}, ["ELF-2027-00001", "ELF-2027-00005"]),
    ({"q": "  Linh   NGUYEN "}, ["ELF-2027-00003"]),
    ({"q": "ELF-2027-00004"}, ["ELF-2027-00004"]),
    ({"q": "elf-2027-0000"}, [f"ELF-2027-0000{n}" for n in range(1, 6)]),
    ({"q": "%"}, []),
    ({"status": "no-such-status", "region": "Atlantis"}, [f"ELF-2027-0000{n}" for n in range(1, 6)]),
])
def test_filters_and_search_return_the_right_rows(staff_client, call, params, expected):
    assert references(list_page(staff_client, call, **params)) == expected


def test_the_filter_form_keeps_the_chosen_values_and_labels_every_field(staff_client, call):
    html = list_page(staff_client, call, region="Asia", q="gurung")
    for name in ("q", "status", "nationality", "region", "field", "eligibility"):
        assert re.search(rf'<label for="{name}">', html), name
    assert '<option selected value="Asia">' in html or '<option value="Asia" selected>' in html
    assert 'value="gurung"' in html
    assert '<option value="NP">Nepal</option>' in html  # nationalities present in the call, by name


def test_pages_split_the_list_and_keep_the_filters(staff_client, call):
    first = list_page(staff_client, call, region="Africa", per_page=2)
    assert references(first) == ["ELF-2027-00001", "ELF-2027-00002"]
    assert "Page 1 of 2" in first
    next_link = re.search(r'<a href="([^"]+)" rel="next">', first)
    assert next_link is not None
    url = next_link.group(1).replace("&amp;", "&")
    assert "region=Africa" in url and "per_page=2" in url
    second = staff_client.get(url).get_data(as_text=True)
    assert "Page 2 of 2" in second
    assert references(second) == ["ELF-2027-00005"] and "Draft #" in second


def test_names_are_escaped_on_the_list(staff_client, call):
    add(call, "ELF-2027-00007", given="<script>alert(1)</script>", family="<b>Bold</b>")
    html = list_page(staff_client, call, q="ELF-2027-00007")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;b&gt;Bold&lt;/b&gt;" in html
    assert "<script>alert(1)" not in html and "<b>Bold" not in html


def export(client, call: Call, **params: object) -> tuple[bytes, list[list[str]]]:
    response = client.get(f"/staff/calls/{call.id}/applications.csv", query_string=params)
    assert response.status_code == 200 and response.is_streamed
    assert response.mimetype == "text/csv" and response.mimetype_params.get("charset") == "utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.get_data()
    return body, list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_csv_export_has_a_bom_a_header_and_the_filtered_rows(staff_client, call):
    # The answers' columns (one per question of the form) are tested in tests/applications/test_answer_exports.py.
    body, rows = export(staff_client, call, region="Africa", status="under_review")
    assert body.startswith(b"\xef\xbb\xbfReference,")
    assert rows[0][:5] == ["Reference", "Status", "Eligibility", "Region", "Submitted at (UTC)"]
    assert [r[:5] for r in rows[1:]] == [["ELF-2027-00001", "Under review", "Eligible", "Africa", "2027-03-01 09:00"]]
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "applications.exported"))
    assert entry is not None and entry.object_id == call.id
    assert entry.details["rows"] == 1 and entry.details["format"] == "csv"
    assert entry.details["filters"] == {"region": "Africa", "status": "under_review"}


def test_csv_export_of_the_whole_call_includes_drafts_and_nothing_from_other_calls(staff_client, call):
    _, rows = export(staff_client, call)
    assert [r[0] for r in rows[1:]] == [f"ELF-2027-0000{n}" for n in range(1, 6)] + [""]


@pytest.mark.parametrize("role", [Role.APPLICANT, Role.REVIEWER])
def test_applicants_and_reviewers_are_refused_the_list_and_the_export(client, call, role):
    login(client, UserFactory(roles=[role]).email)
    for url in (f"/staff/calls/{call.id}/applications", f"/staff/calls/{call.id}/applications.csv"):
        assert client.get(url).status_code == 403, url
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "applications.exported")) is None


def test_anonymous_visitors_are_sent_to_log_in(client, call):
    response = client.get(f"/staff/calls/{call.id}/applications")
    assert response.status_code == 302 and "/auth/login" in response.location


def test_an_unknown_call_is_not_found(staff_client, call):
    assert staff_client.get("/staff/calls/999999/applications").status_code == 404




def bulk_add(call: Call, start: int, n: int) -> None:
    """n submitted applications with their applicants, in two bulk INSERTs."""
    users = [{"email": f"bulk{i}@example.org", "full_name": f"Bulk {i}", "password_hash": "x",
              "is_active_account": True} for i in range(start, start + n)]
    user_ids = db.session.scalars(insert(User).returning(User.id, sort_by_parameter_order=True), users).all()
    nationalities = ["KE", "NG", "VN", "NP", "ET"]
    db.session.execute(insert(Application), [{
        "call_id": call.id, "applicant_id": user_id, "status": ApplicationStatus.SUBMITTED,
        "reference": f"ELF-2027-{10000 + i:05d}", "given_name": "Bulk", "family_name": f"Applicant {i}",
        "search_name": f"bulk applicant {i}", "nationality": nationalities[i % 5], "region": "Africa",
        "environmental_field": EnvironmentalField.WATER, "submitted_at": SUBMITTED_AT,
    } for i, user_id in zip(range(start, start + n), user_ids, strict=True)])
    db.session.commit()


def test_the_list_runs_the_same_number_of_queries_for_10_and_500_applications(staff_client, app_ctx):
    call = CallFactory()
    url = f"/staff/calls/{call.id}/applications"
    bulk_add(call, 0, 10)
    staff_client.get(url)  # warm up: first-request work (such as loading metadata) is not counted
    with counted_statements() as small:
        html = staff_client.get(url).get_data(as_text=True)
    assert len(references(html)) == 10

    bulk_add(call, 10, 490)
    staff_client.get(url)  # the new applications make the call's cached status counts stale: recomputed once here
    with counted_statements() as large:
        html = staff_client.get(url).get_data(as_text=True)
    assert len(references(html)) == 50 and "500 applications" in html

    assert len(small) == len(large), (small, large)
    assert len(large) <= 10, large
