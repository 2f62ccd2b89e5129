"""Staff set up programmes and calls; applicants see open calls with deadlines in both time zones."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from fellowship.auth.models import Role
from fellowship.calls.models import Call, CallStatus, DegreeLevel, Programme
from fellowship.calls.services import developing_preset
from fellowship.extensions import db
from fellowship.models import utcnow
from tests.conftest import login, submit_form
from tests.factories import CallFactory, ProgrammeFactory, UserFactory


def call_form(programme_id: int, **overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "programme_id": programme_id, "title": "Environmental Leaders 2027", "year": 2027,
        "description": "Study in Japan.", "opens_at": "2026-12-01T09:00", "closes_at": "2027-03-31T17:00",
        "status": "open", "places": 20, "max_age": 35, "min_degree": "bachelor",
        "eligible_countries": ["KE", "VN"], "required_documents": ["cv", "passport"], "references_required": 2,
        "reference_prefix": "ELF", "reviewers_per_application": 3,
        "quotas-0-min_share_percent": 40, "quotas-1-min_share_percent": 30,
        "criteria-0-name": "Academic merit", "criteria-0-weight": "2", "criteria-0-description": "Grades",
        "criteria-0-levels": "Weak\nFair\nGood\nVery good\nOutstanding",
        "criteria-1-name": "Leadership potential", "criteria-1-weight": "3",
    }
    for i, region in enumerate(("Africa", "Asia", "Americas", "Oceania", "Europe")):
        data[f"quotas-{i}-region"] = region
    data.update(overrides)
    return data


def test_staff_create_a_call_with_times_in_the_programme_zone_quotas_and_rubric(client, app_ctx):
    staff = UserFactory(roles=[Role.STAFF])
    programme = ProgrammeFactory(time_zone="Asia/Tokyo")
    login(client, staff.email)
    response = submit_form(client, "/staff/calls/new", call_form(programme.id), follow_redirects=True)
    assert "Call “Environmental Leaders 2027” saved." in response.get_data(as_text=True)

    call = db.session.scalars(select(Call)).one()
    assert call.opens_at == datetime(2026, 12, 1, 0, 0, tzinfo=UTC)  # 09:00 in Tokyo
    assert call.closes_at == datetime(2027, 3, 31, 8, 0, tzinfo=UTC)  # 17:00 in Tokyo
    assert call.status is CallStatus.OPEN and call.min_degree is DegreeLevel.BACHELOR
    assert call.eligible_countries == ["KE", "VN"] and call.required_documents == ["cv", "passport"]
    assert {(q.region, q.min_share_percent) for q in call.quotas} == {("Africa", 40), ("Asia", 30)}
    assert [(c.name, float(c.weight)) for c in call.criteria] == [
        ("Academic merit", 2.0), ("Leadership potential", 3.0)]
    assert call.criteria[0].level_descriptions["5"] == "Outstanding"

    edit_page = client.get(f"/staff/calls/{call.id}/edit").get_data(as_text=True)
    assert 'value="2027-03-31T17:00"' in edit_page  # shown back in the programme's zone


def test_the_developing_countries_preset_fills_the_eligible_list(client, app_ctx):
    staff = UserFactory(roles=[Role.STAFF])
    programme = ProgrammeFactory()
    login(client, staff.email)
    new_page = client.get("/staff/calls/new").get_data(as_text=True)
    assert re.search(r'value="KE" checked>', new_page) and re.search(r'value="JP">', new_page)
    submit_form(client, "/staff/calls/new", call_form(programme.id, eligible_countries=["KE"],
                                                      use_developing_preset="y"))
    call = db.session.scalars(select(Call)).one()
    assert call.eligible_countries == sorted(developing_preset())
    assert {"KE", "NG", "VN", "BD"} <= set(call.eligible_countries) and "JP" not in call.eligible_countries


def test_bad_call_settings_get_clear_messages_and_nothing_is_saved(client, app_ctx):
    staff = UserFactory(roles=[Role.STAFF])
    programme = ProgrammeFactory()
    login(client, staff.email)
    response = submit_form(client, "/staff/calls/new", call_form(
        programme.id, closes_at="2026-11-01T09:00", **{"quotas-0-min_share_percent": 70,
                                                         "quotas-1-min_share_percent": 50}))
    html = response.get_data(as_text=True)
    assert "The deadline must be after the opening time." in html
    assert "The regional minimums add up to 120%; they cannot exceed 100%." in html
    assert db.session.scalars(select(Call)).all() == []


def test_applicants_and_reviewers_cannot_manage_calls(client, app_ctx):
    call = CallFactory()
    for role in (Role.APPLICANT, Role.REVIEWER):
        other = client.application.test_client()
        login(other, UserFactory(roles=[role]).email)
        for path in ("/staff/calls", "/staff/calls/new", f"/staff/calls/{call.id}/edit", "/staff/programmes"):
            assert other.get(path).status_code == 403, (role, path)


def test_open_calls_list_only_calls_accepting_applications_with_the_deadline_in_both_zones(client, app_ctx):
    open_call = CallFactory(title="Open now", closes_at=datetime(2099, 3, 31, 8, 0, tzinfo=UTC))
    CallFactory(title="Not yet", opens_at=utcnow() + timedelta(days=3))
    CallFactory(title="Closed", closes_at=utcnow() - timedelta(seconds=1))
    CallFactory(title="Draft", status=CallStatus.DRAFT)
    user = UserFactory(time_zone="Africa/Nairobi")
    login(client, user.email)
    html = client.get("/calls").get_data(as_text=True)
    assert "Open now" in html and "Not yet" not in html and "Closed" not in html and "Draft" not in html
    assert "31 March 2099, 17:00 JST (Asia/Tokyo)" in html
    assert "31 March 2099, 11:00 EAT (Africa/Nairobi)" in html
    assert client.get(f"/calls/{open_call.id}").status_code == 200


def test_a_draft_call_is_hidden_from_applicants(client, app_ctx):
    draft = CallFactory(status=CallStatus.DRAFT)
    login(client, UserFactory().email)
    assert client.get(f"/calls/{draft.id}").status_code == 404


def test_users_choose_their_time_zone(client, app_ctx):
    user = UserFactory()
    login(client, user.email)
    submit_form(client, "/auth/profile", {"full_name": user.full_name, "time_zone": "Asia/Dhaka"})
    refused = submit_form(client, "/auth/profile", {"full_name": user.full_name, "time_zone": "Mars/Olympus"})
    assert "Not a valid choice" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(type(user), user.id).time_zone == "Asia/Dhaka"


def test_a_call_numbered_like_another_is_refused_beside_the_prefix_field(client, app_ctx):
    staff = UserFactory(roles=[Role.STAFF])
    programme = ProgrammeFactory()
    CallFactory(programme=programme, title="Environmental Leaders 2027", reference_prefix="ELF", year=2027)
    login(client, staff.email)
    response = submit_form(client, "/staff/calls/new", call_form(programme.id, title="Water Leaders 2027"))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    message = "“Environmental Leaders 2027” already numbers its applications ELF-2027-…"
    assert message in html
    # beside the prefix field, tied to it for screen readers
    assert re.search(r'id="reference_prefix-error">[^<]*already numbers its applications', html)
    assert db.session.scalar(select(func.count(Call.id))) == 1
    saved = submit_form(client, "/staff/calls/new", call_form(programme.id, title="Water Leaders 2027",
                                                              reference_prefix="WLF"), follow_redirects=True)
    assert "Call “Water Leaders 2027” saved." in saved.get_data(as_text=True)


def test_editing_a_call_keeps_its_prefix_quotas_and_the_rubric_rows_its_scores_hang_on(client, app_ctx):
    staff = UserFactory(roles=[Role.STAFF])
    programme = ProgrammeFactory()
    login(client, staff.email)
    submit_form(client, "/staff/calls/new", call_form(programme.id))
    call = db.session.scalars(select(Call)).one()
    criterion_ids = [c.id for c in call.criteria]
    response = submit_form(client, f"/staff/calls/{call.id}/edit", call_form(
        programme.id, places=25, **{"quotas-0-min_share_percent": 45, "quotas-1-min_share_percent": 0,
                                    "quotas-2-min_share_percent": 10, "criteria-0-name": "Academic record"}),
        follow_redirects=True)
    assert "saved." in response.get_data(as_text=True)
    db.session.expire_all()
    call = db.session.get_one(Call, call.id)
    assert {(q.region, q.min_share_percent) for q in call.quotas} == {("Africa", 45), ("Americas", 10)}
    # renamed in place: review scores reference these rows and would go with them
    assert [c.id for c in call.criteria] == criterion_ids
    assert [c.name for c in call.criteria] == ["Academic record", "Leadership potential"]


def test_a_programme_name_that_exists_is_a_message_beside_the_name_not_a_server_error(client, app_ctx):
    staff = UserFactory(roles=[Role.STAFF])
    existing = ProgrammeFactory(name="Environmental Leaders Fellowship")
    other = ProgrammeFactory(name="Water Fellowship")
    login(client, staff.email)
    form = {"name": "environmental leaders fellowship ", "description": "", "time_zone": "Asia/Tokyo",
            "followup_months": "6, 12"}
    created = submit_form(client, "/staff/programmes/new", form)
    renamed = submit_form(client, f"/staff/programmes/{other.id}/edit", {**form, "name": existing.name})
    for response in (created, renamed):
        assert response.status_code == 200
        assert re.search(r'id="name-error">A programme named “[^”]+” already exists', response.get_data(as_text=True))
    db.session.expire_all()
    assert db.session.get_one(Programme, other.id).name == "Water Fellowship"
    assert db.session.scalar(select(func.count(Programme.id))) == 2
    # keeping its own name is not a clash
    kept = submit_form(client, f"/staff/programmes/{existing.id}/edit", {**form, "name": existing.name},
                       follow_redirects=True)
    assert "saved." in kept.get_data(as_text=True)
