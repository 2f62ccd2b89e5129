"""The staff list filters on the answers to the call's choice, yes/no and country questions (through answer facets)."""

from __future__ import annotations

import re

import pytest

from fellowship.auth.models import Role
from fellowship.extensions import db
from fellowship.i18n.texts import Texts
from fellowship.questions.models import Question
from tests.applications.answer_forms import applicant, call_with_form
from tests.conftest import login
from tests.factories import UserFactory
from tests.querycount import counted_statements


@pytest.fixture
def staff_client(client, app_ctx):
    login(client, UserFactory(roles=[Role.STAFF]).email)
    return client


@pytest.fixture
def answered(app_ctx):
    call, form = call_with_form()
    applicant(call, form, "ELF-2027-00001", motto="A", sector="ngo", topics=["water", "waste"], home="KE",
              mentor=True)
    applicant(call, form, "ELF-2027-00002", motto="B", sector="government", topics=["energy"], home="VN",
              mentor=False)
    applicant(call, form, "ELF-2027-00003", motto="C", sector="ngo", topics=["water"], home="VN", mentor=False)
    applicant(call, form, "ELF-2027-00004", motto="D")  # answered none of the filterable questions
    return call, form


def references(html: str) -> list[str]:
    return re.findall(r">(ELF-\d{4}-\d{5})</a>", html)


def listed(client, call, **params: object) -> list[str]:
    response = client.get(f"/staff/calls/{call.id}/applications", query_string=params)
    assert response.status_code == 200
    return references(response.get_data(as_text=True))


def test_each_choice_yes_no_and_country_question_of_the_form_gets_a_labelled_filter(staff_client, answered):
    call, _form = answered
    html = staff_client.get(f"/staff/calls/{call.id}/applications").get_data(as_text=True)
    for key, label in (("sector", "Sector"), ("topics", "Topics"), ("home", "Country of residence"),
                       ("mentor", "Do you have a mentor?")):
        assert re.search(rf'<label for="a_{key}">{re.escape(label)}</label>', html), key
        assert f'<select id="a_{key}" name="a_{key}">' in html
    assert '<option value="ngo">NGO / civil society</option>' in html
    assert '<option value="KE">Kenya</option>' in html
    assert 'name="a_motto"' not in html and 'name="a_years"' not in html  # text and numbers are not filters


@pytest.mark.parametrize(("params", "expected"), [
    ({"a_sector": "ngo"}, ["ELF-2027-00001", "ELF-2027-00003"]),
    ({"a_topics": "water"}, ["ELF-2027-00001", "ELF-2027-00003"]),
    ({"a_topics": "energy"}, ["ELF-2027-00002"]),
    ({"a_home": "VN"}, ["ELF-2027-00002", "ELF-2027-00003"]),
    ({"a_mentor": "no"}, ["ELF-2027-00002", "ELF-2027-00003"]),
    ({"a_mentor": "yes"}, ["ELF-2027-00001"]),
    ({"a_sector": "ngo", "a_home": "VN"}, ["ELF-2027-00003"]),
    ({"a_sector": "ngo", "q": "ELF-2027-00001"}, ["ELF-2027-00001"]),
    ({"a_sector": "unknown-value"}, ["ELF-2027-00001", "ELF-2027-00002", "ELF-2027-00003", "ELF-2027-00004"]),
    ({"a_motto": "A"}, ["ELF-2027-00001", "ELF-2027-00002", "ELF-2027-00003", "ELF-2027-00004"]),
])
def test_an_answer_filter_keeps_only_the_applications_with_that_answer(staff_client, answered, params, expected):
    call, _form = answered
    assert listed(staff_client, call, **params) == expected


def test_the_chosen_answer_stays_selected_and_the_pager_and_exports_keep_it(staff_client, answered, app,
                                                                           monkeypatch):
    call, _form = answered
    monkeypatch.setitem(app.config, "PER_PAGE", 1)
    html = staff_client.get(f"/staff/calls/{call.id}/applications",
                            query_string={"a_sector": "ngo"}).get_data(as_text=True)
    assert '<option selected value="ngo">NGO / civil society</option>' in html
    assert "1 of 2" in html or "page=2" in html
    assert re.search(r'href="[^"]*page=2[^"]*a_sector=ngo|href="[^"]*a_sector=ngo[^"]*page=2', html)
    assert re.search(rf'href="/staff/calls/{call.id}/applications.csv\?a_sector=ngo"', html)
    assert re.search(rf'href="/staff/calls/{call.id}/applications.xlsx\?a_sector=ngo"', html)


def test_a_changed_form_shows_its_new_wording_in_the_filters(staff_client, answered):
    call, form = answered
    staff_client.get(f"/staff/calls/{call.id}/applications")
    sector = db.session.query(Question).filter_by(questionnaire_id=form.id, key="sector").one()
    sector.label = Texts.of("Sector of work")
    form.version += 1  # what the engine does on every saved change
    db.session.commit()
    html = staff_client.get(f"/staff/calls/{call.id}/applications").get_data(as_text=True)
    assert '<label for="a_sector">Sector of work</label>' in html


def test_a_filtered_list_runs_the_same_queries_for_4_and_60_applications(staff_client, answered):
    call, form = answered
    url = f"/staff/calls/{call.id}/applications"
    params = {"a_sector": "ngo", "a_home": "VN"}
    staff_client.get(url, query_string=params)
    with counted_statements() as small:  # the URL is built outside: reading call.id may refresh the call
        assert references(staff_client.get(url, query_string=params).get_data(as_text=True)) == ["ELF-2027-00003"]
    for n in range(56):
        applicant(call, form, f"ELF-2027-{100 + n:05d}", motto="x", sector="ngo", home="VN")
    db.session.expire_all()
    for _ in range(2):  # the new applications make the call's cached figures stale: recomputed here
        staff_client.get(url, query_string=params)
    with counted_statements() as large:
        assert len(references(staff_client.get(url, query_string=params).get_data(as_text=True))) == 50  # a page
    assert len(small) == len(large), (small, large)
