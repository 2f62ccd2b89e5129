"""Staff pages over alumni: the filtered list (constant queries), one person's timeline, the overdue list."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import insert

from fellowship.alumni.models import CareerEntry, FollowUp, FollowUpResponse, FollowUpStatus, LeadershipLevel
from fellowship.applications.models import Application, ApplicationStatus, Sector
from fellowship.auth.models import Role, User
from fellowship.calls.models import Call
from fellowship.extensions import db
from fellowship.fellows.models import Fellow, FellowStatus
from tests.alumni.factories import make_alumnus
from tests.conftest import login
from tests.factories import CallFactory, UserFactory
from tests.querycount import counted_statements

TODAY = date.today()


@pytest.fixture
def staff_client(client, app_ctx):
    login(client, UserFactory(roles=[Role.STAFF]).email)
    return client


def alumnus(call: Call, given: str, family: str, nationality: str, region: str, returned_on: date,
            **kw: object) -> Fellow:
    return make_alumnus(call, returned_on=returned_on, application_fields={
        "given_name": given, "family_name": family, "nationality": nationality, "region": region}, **kw)


def career(fellow: Fellow, position: str, sector: Sector, start: date, end: date | None = None) -> CareerEntry:
    entry = CareerEntry(fellow_id=fellow.id, position=position, organisation="Org", sector=sector, country="KE",
                        start_date=start, end_date=end, environmental=True, leadership_level=LeadershipLevel.MANAGER)
    db.session.add(entry)
    db.session.commit()
    return entry


def follow_up(fellow: Fellow, months: int, due_on: date, status: FollowUpStatus) -> FollowUp:
    row = FollowUp(fellow_id=fellow.id, months_after_return=months, due_on=due_on, status=status)
    db.session.add(row)
    db.session.commit()
    return row


NAMES = ("Amani Njeri", "Linh Nguyen", "Kofi Mensah", "Sita Gurung")


def shown(client, query: str = "") -> set[str]:
    html = client.get(f"/staff/alumni{query}").get_data(as_text=True)
    return {name for name in NAMES if name in html}


def test_each_alumni_filter_narrows_the_list(staff_client):
    cohort_2021, cohort_2022 = CallFactory(year=2021, title="Cohort 2021"), CallFactory(year=2022, title="Cohort 2022")
    amani = alumnus(cohort_2021, "Amani", "Njeri", "KE", "Africa", TODAY - timedelta(days=900))
    linh = alumnus(cohort_2021, "Linh", "Nguyen", "VN", "Asia", TODAY - timedelta(days=800),
                   lost_contact_since=datetime(2026, 1, 5, tzinfo=UTC))
    kofi = alumnus(cohort_2022, "Kofi", "Mensah", "GH", "Africa", TODAY - timedelta(days=400))
    sita = alumnus(cohort_2022, "Sita", "Gurung", "NP", "Asia", TODAY - timedelta(days=100))
    # Still in Japan: never an alumnus.
    make_alumnus(cohort_2022, application_fields={"given_name": "Not", "family_name": "Returned"},
                 status=FellowStatus.IN_JAPAN, actual_return_date=None)

    # Current career: the latest entry without an end date; Amani left government for an NGO.
    career(amani, "Water officer", Sector.GOVERNMENT, date(2022, 1, 1), end=date(2024, 1, 1))
    career(amani, "Programme lead", Sector.NGO, date(2024, 1, 2))
    career(linh, "Lecturer", Sector.ACADEMIA, date(2023, 1, 1))
    career(kofi, "Analyst", Sector.GOVERNMENT, date(2025, 1, 1))
    # Latest follow-up due by today decides; one due in the future does not count yet.
    follow_up(amani, 6, TODAY - timedelta(days=700), FollowUpStatus.COMPLETED)
    follow_up(amani, 12, TODAY - timedelta(days=500), FollowUpStatus.OVERDUE)
    follow_up(linh, 12, TODAY - timedelta(days=400), FollowUpStatus.LAPSED)
    follow_up(kofi, 6, TODAY - timedelta(days=220), FollowUpStatus.COMPLETED)
    follow_up(kofi, 12, TODAY + timedelta(days=10), FollowUpStatus.SCHEDULED)
    follow_up(sita, 6, TODAY + timedelta(days=80), FollowUpStatus.SCHEDULED)

    assert shown(staff_client) == set(NAMES)
    assert shown(staff_client, f"?cohort={cohort_2021.id}") == {"Amani Njeri", "Linh Nguyen"}
    assert shown(staff_client, "?country=GH") == {"Kofi Mensah"}
    assert shown(staff_client, "?region=Asia") == {"Linh Nguyen", "Sita Gurung"}
    assert shown(staff_client, "?sector=ngo") == {"Amani Njeri"}
    assert shown(staff_client, "?sector=government") == {"Kofi Mensah"}  # not Amani: that entry has ended
    assert shown(staff_client, "?follow_up=overdue") == {"Amani Njeri"}
    assert shown(staff_client, "?follow_up=completed") == {"Kofi Mensah"}
    assert shown(staff_client, "?follow_up=lapsed") == {"Linh Nguyen"}
    assert shown(staff_client, "?follow_up=none") == {"Sita Gurung"}
    assert shown(staff_client, "?lost_contact=yes") == {"Linh Nguyen"}
    assert shown(staff_client, "?lost_contact=no") == {"Amani Njeri", "Kofi Mensah", "Sita Gurung"}
    assert shown(staff_client, "?region=Africa&sector=government") == {"Kofi Mensah"}
    html = staff_client.get("/staff/alumni?country=KE").get_data(as_text=True)
    assert "Programme lead, Org" in html and "Water officer" not in html and "1 alumnus match" in html


def bulk_alumni(call: Call, start: int, n: int) -> None:
    """n alumni, each with a current career entry and a due follow-up, in a few bulk INSERTs."""
    user_ids = db.session.scalars(insert(User).returning(User.id, sort_by_parameter_order=True), [
        {"email": f"alum{i}@example.org", "full_name": f"Alum {i}", "password_hash": "x", "is_active_account": True}
        for i in range(start, start + n)]).all()
    application_ids = db.session.scalars(insert(Application).returning(Application.id, sort_by_parameter_order=True), [
        {"call_id": call.id, "applicant_id": user_id, "status": ApplicationStatus.OFFER_ACCEPTED,
         "reference": f"ELF-2021-{20000 + i:05d}", "given_name": "Alum", "family_name": f"Number {i}",
         "search_name": f"alum number {i}", "nationality": "KE", "region": "Africa",
         "submitted_at": datetime(2021, 3, 1, tzinfo=UTC)}
        for i, user_id in zip(range(start, start + n), user_ids, strict=True)]).all()
    fellow_ids = db.session.scalars(insert(Fellow).returning(Fellow.id, sort_by_parameter_order=True), [
        {"application_id": application_id, "user_id": user_id, "call_id": call.id, "home_country": "KE",
         "home_region": "Africa", "status": FellowStatus.COMPLETED, "actual_return_date": date(2023, 9, 1)}
        for application_id, user_id in zip(application_ids, user_ids, strict=True)]).all()
    db.session.execute(insert(CareerEntry), [
        {"fellow_id": fellow_id, "position": "Officer", "organisation": "Ministry", "sector": Sector.GOVERNMENT,
         "country": "KE", "start_date": date(2023, 10, 1), "environmental": True,
         "leadership_level": LeadershipLevel.STAFF} for fellow_id in fellow_ids])
    db.session.execute(insert(FollowUp), [
        {"fellow_id": fellow_id, "months_after_return": 6, "due_on": date(2024, 3, 1),
         "status": FollowUpStatus.COMPLETED} for fellow_id in fellow_ids])
    db.session.commit()


def test_the_alumni_list_runs_the_same_number_of_queries_for_10_and_200_alumni(staff_client):
    call = CallFactory(year=2021)
    url = "/staff/alumni?sector=government&per_page=200"
    bulk_alumni(call, 0, 10)
    staff_client.get(url)  # warm up
    with counted_statements() as small:
        html = staff_client.get(url).get_data(as_text=True)
    assert html.count("Officer, Ministry") == 10

    bulk_alumni(call, 10, 190)
    staff_client.get(url)  # the first view after a change recomputes the cached cohort figures
    with counted_statements() as large:
        html = staff_client.get(url).get_data(as_text=True)
    assert html.count("Officer, Ministry") == 200 and "200 alumni match" in html

    assert len(small) == len(large), (small, large)
    assert len(large) <= 8, large


def test_the_timeline_shows_application_fellowship_career_and_the_answer_of_a_completed_follow_up(staff_client):
    call = CallFactory(year=2021, title="Environmental Leaders 2021")
    fellow = alumnus(call, "Amani", "Njeri", "KE", "Africa", date(2023, 8, 31), host_institution="Kyoto University",
                     arrival_date=date(2021, 9, 20))
    db.session.get_one(Application, fellow.application_id).submitted_at = datetime(2021, 2, 1, tzinfo=UTC)
    answered = follow_up(fellow, 6, date(2024, 2, 29), FollowUpStatus.COMPLETED)
    answered.sent_at, answered.completed_at = datetime(2024, 2, 29, tzinfo=UTC), datetime(2024, 3, 4, tzinfo=UTC)
    db.session.add(FollowUpResponse(follow_up_id=answered.id, fellow_id=fellow.id, country_of_residence="KE",
                                    country_of_work="KE", projects_led=3, people_trained=120,
                                    achievements_text="Led the Nairobi river restoration project."))
    follow_up(fellow, 12, date(2024, 8, 31), FollowUpStatus.OVERDUE)
    career(fellow, "Programme lead", Sector.NGO, date(2024, 1, 15))

    html = staff_client.get(f"/staff/alumni/{fellow.id}").get_data(as_text=True)
    for text in ("Applied to Environmental Leaders 2021", "ELF-2021-", "Arrived in Japan", "Kyoto University",
                 "Returned home", "Programme lead, Org", "Follow-up at 6 months: completed",
                 "Led the Nairobi river restoration project.", "120", "Follow-up at 12 months: overdue"):
        assert text in html, text
    # One list, newest first: the overdue 12-month follow-up, the answer, the new job, the return, the arrival.
    order = [html.index(t) for t in ("Follow-up at 12 months", "Follow-up at 6 months", "Programme lead",
                                     "Returned home", "Arrived in Japan", "Applied to")]
    assert order == sorted(order)
    assert '<time datetime="2024-02-29">' in html


def test_the_overdue_list_shows_overdue_and_lapsed_follow_ups_oldest_first_and_lost_contact_alumni(staff_client):
    call = CallFactory(year=2021)
    amani = alumnus(call, "Amani", "Njeri", "KE", "Africa", date(2023, 1, 10))
    linh = alumnus(call, "Linh", "Nguyen", "VN", "Asia", date(2022, 6, 1),
                   lost_contact_since=datetime(2024, 4, 1, tzinfo=UTC))
    kofi = alumnus(call, "Kofi", "Mensah", "GH", "Africa", date(2022, 3, 1))
    follow_up(amani, 12, date(2024, 1, 10), FollowUpStatus.OVERDUE)
    follow_up(linh, 6, date(2022, 12, 1), FollowUpStatus.LAPSED)
    follow_up(kofi, 6, date(2022, 9, 1), FollowUpStatus.COMPLETED)
    follow_up(kofi, 12, date(2023, 3, 1), FollowUpStatus.SENT)

    html = staff_client.get("/staff/alumni/overdue").get_data(as_text=True)
    overdue_section, lost_section = html.split('id="lost"')
    assert "2 follow-ups, oldest due first" in overdue_section
    assert overdue_section.index("Linh Nguyen") < overdue_section.index("Amani Njeri")
    assert "Kofi Mensah" not in overdue_section
    assert "1 alumnus, longest lost first" in lost_section
    assert "Linh Nguyen" in lost_section and "Amani Njeri" not in lost_section and "2024-04-01" in lost_section

    page_two = staff_client.get("/staff/alumni/overdue?per_page=1&page=2").get_data(as_text=True)
    assert "Amani Njeri" in page_two.split('id="lost"')[0] and "Page 2 of 2" in page_two
