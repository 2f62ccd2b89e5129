"""The staff exports of a call's applications read the call's form: a column per question, groups on their own."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from fellowship.applications import answer_exports
from fellowship.audit.models import AuditEntry
from fellowship.auth.models import Role
from fellowship.extensions import db
from tests.applications.answer_forms import applicant, call_with_form
from tests.conftest import login
from tests.factories import UserFactory
from tests.querycount import counted_statements

FIXED = ["Reference", "Status", "Eligibility", "Region", "Submitted at (UTC)"]
QUESTIONS = ["Your motto", "Sector", "Topics", "Country of residence", "Country of residence (code)",
             "Do you have a mentor?", "Years of experience"]


@pytest.fixture
def staff_client(client, app_ctx):
    login(client, UserFactory(roles=[Role.STAFF]).email)
    return client


@pytest.fixture
def exported(app_ctx):
    """A call whose form has one question of each exported kind, with two answered applications and a draft."""
    call, form = call_with_form()
    applicant(call, form, "ELF-2027-00001", motto="Rivers first", sector="ngo", topics=["water", "waste"],
              home="KE", mentor=True, years=4, phone="+254 700",
              education=[{"school": "University of Nairobi", "degree_year": 2019},
                         {"school": "Kyoto University", "degree_year": 2023}])
    applicant(call, form, "ELF-2027-00002", given="Linh", motto="=HYPERLINK(\"http://evil.example\")",
              sector="government", topics=["energy"], home="VN", mentor=False, years=0,
              education=[{"school": "@SUM(A1)", "degree_year": 2020}])
    applicant(call, form, None, motto="Still drafting")
    return call, form


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200 and response.is_streamed
    assert "attachment" in response.headers["Content-Disposition"]
    return list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))


def test_the_csv_has_a_column_per_exported_question_headed_by_its_label_with_choice_labels_and_country_names(
        staff_client, exported):
    call, _form = exported
    rows = csv_rows(staff_client.get(f"/staff/calls/{call.id}/applications.csv"))
    assert rows[0] == FIXED + QUESTIONS
    by_ref = {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    first = by_ref["ELF-2027-00001"]
    assert first["Your motto"] == "Rivers first"
    assert first["Sector"] == "NGO / civil society"
    assert "Water" in first["Topics"] and "Waste" in first["Topics"] and "Energy" not in first["Topics"]
    assert first["Country of residence"] == "Kenya" and first["Country of residence (code)"] == "KE"
    assert first["Do you have a mentor?"] == "Yes" and first["Years of experience"] == "4"
    assert by_ref["ELF-2027-00002"]["Country of residence"] == "Vietnam"
    assert by_ref["ELF-2027-00002"]["Do you have a mentor?"] == "No"
    assert "" in by_ref and by_ref[""]["Your motto"] == "Still drafting"  # the draft, no reference yet


def test_a_question_left_out_of_exports_and_the_group_have_no_column_in_the_main_file(staff_client, exported):
    call, _form = exported
    body = staff_client.get(f"/staff/calls/{call.id}/applications.csv").get_data(as_text=True)
    assert "Phone" not in body and "+254 700" not in body
    assert "Education" not in body.splitlines()[0] and "Kyoto University" not in body


def test_a_repeatable_group_downloads_as_its_own_csv_one_row_per_entry_with_the_reference(staff_client, exported):
    call, _form = exported
    rows = csv_rows(staff_client.get(f"/staff/calls/{call.id}/applications/groups/education.csv"))
    assert rows[0] == ["Reference", "School", "Year"]
    assert rows[1:] == [["ELF-2027-00001", "University of Nairobi", "2019"],
                        ["ELF-2027-00001", "Kyoto University", "2023"],
                        ["ELF-2027-00002", "'@SUM(A1)", "2020"]]


def test_the_list_links_to_each_group_download_and_an_unknown_group_is_not_found(staff_client, exported):
    call, _form = exported
    html = staff_client.get(f"/staff/calls/{call.id}/applications").get_data(as_text=True)
    assert f"/staff/calls/{call.id}/applications/groups/education.csv" in html
    assert f"/staff/calls/{call.id}/applications.xlsx" in html
    assert staff_client.get(f"/staff/calls/{call.id}/applications/groups/motto.csv").status_code == 404
    assert staff_client.get(f"/staff/calls/{call.id}/applications/groups/nothing.csv").status_code == 404


def test_the_xlsx_has_an_applications_sheet_and_a_sheet_per_repeatable_group(staff_client, exported):
    call, _form = exported
    response = staff_client.get(f"/staff/calls/{call.id}/applications.xlsx")
    assert response.status_code == 200 and response.is_streamed
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    workbook = load_workbook(io.BytesIO(response.get_data()))
    assert workbook.sheetnames == ["Applications", "Education"]
    main = [list(r) for r in workbook["Applications"].iter_rows(values_only=True)]
    assert main[0] == FIXED + QUESTIONS
    first = dict(zip(main[0], next(r for r in main if r[0] == "ELF-2027-00001"), strict=True))
    assert first["Sector"] == "NGO / civil society" and first["Country of residence"] == "Kenya"
    assert first["Years of experience"] == 4  # numbers stay numbers
    second = next(r for r in main if r[0] == "ELF-2027-00002")
    assert second[FIXED.__len__()] == "'=HYPERLINK(\"http://evil.example\")"  # never run as a formula
    education = [list(r) for r in workbook["Education"].iter_rows(values_only=True)]
    assert education == [["Reference", "School", "Year"], ["ELF-2027-00001", "University of Nairobi", 2019],
                         ["ELF-2027-00001", "Kyoto University", 2023], ["ELF-2027-00002", "'@SUM(A1)", 2020]]


def test_csv_cells_a_spreadsheet_would_run_are_neutralised(staff_client, exported):
    call, _form = exported
    rows = csv_rows(staff_client.get(f"/staff/calls/{call.id}/applications.csv"))
    motto = rows[0].index("Your motto")
    assert next(r for r in rows if r[0] == "ELF-2027-00002")[motto] == "'=HYPERLINK(\"http://evil.example\")"


def test_each_export_follows_the_list_filters_and_is_audited_with_its_format(staff_client, exported):
    call, _form = exported
    rows = csv_rows(staff_client.get(f"/staff/calls/{call.id}/applications.csv", query_string={"a_sector": "ngo"}))
    assert [r[0] for r in rows[1:]] == ["ELF-2027-00001"]
    groups = csv_rows(staff_client.get(f"/staff/calls/{call.id}/applications/groups/education.csv",
                                       query_string={"a_home": "VN"}))
    assert [r[0] for r in groups[1:]] == ["ELF-2027-00002"]
    staff_client.get(f"/staff/calls/{call.id}/applications.xlsx").get_data()
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "applications.exported")
                                 .order_by(AuditEntry.id)).all()
    assert [(e.details["format"], e.details.get("group"), e.details["rows"]) for e in entries] == [
        ("csv", None, 1), ("csv", "education", 1), ("xlsx", None, 3)]
    assert entries[0].details["filters"] == {"a_sector": "ngo"}


def test_the_export_reads_answers_with_the_rows_in_the_same_queries_for_3_and_60_applications(
        staff_client, exported, monkeypatch):
    call, form = exported
    monkeypatch.setattr(answer_exports, "EXPORT_BATCH", 5)  # several batches: none may cost a query of its own
    url = f"/staff/calls/{call.id}/applications.csv"
    staff_client.get(url).get_data()
    with counted_statements() as small:
        assert len(csv_rows(staff_client.get(url))) == 4
    for n in range(57):
        applicant(call, form, f"ELF-2027-{100 + n:05d}", motto=f"Motto {n}", sector="ngo", home="KE",
                  education=[{"school": f"School {n}", "degree_year": 2020}])
    staff_client.get(url).get_data()
    with counted_statements() as large:
        assert len(csv_rows(staff_client.get(url))) == 61
    assert len(small) == len(large), (small, large)
