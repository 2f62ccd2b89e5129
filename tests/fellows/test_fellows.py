"""Fellows as staff meet them: created by an accepted offer, edited, sent home, returns past due confirmed."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from fellowship.alumni.models import FollowUp, FollowUpStatus
from fellowship.audit.models import AuditEntry
from fellowship.auth.models import Role
from fellowship.calls.models import Call
from fellowship.extensions import db
from fellowship.fellows import services
from fellowship.fellows.models import Fellow, FellowStatus
from fellowship.selection import decisions
from fellowship.selection.models import DecisionOutcome
from tests.alumni.factories import FellowFactory, accepted_application, make_alumnus
from tests.conftest import csrf_token_from, login, submit_form
from tests.factories import CallFactory, ProgrammeFactory, UserFactory, submitted_application

FIVE_YEARS = [6, 12, 24, 36, 60]


@pytest.fixture
def staff_client(client, app_ctx):
    login(client, UserFactory(roles=[Role.STAFF]).email)
    return client


def fellow_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Fellow)) or 0


def due_dates(fellow: Fellow) -> list[tuple[int, date, FollowUpStatus]]:
    return [tuple(row) for row in db.session.execute(  # type: ignore[misc]
        select(FollowUp.months_after_return, FollowUp.due_on, FollowUp.status)
        .where(FollowUp.fellow_id == fellow.id).order_by(FollowUp.months_after_return))]


def in_japan(call: Call | None = None, **kw: object) -> Fellow:
    application = accepted_application(call, **kw.pop("application_fields", {}))  # type: ignore[arg-type]
    return FellowFactory(application=application, **kw)


def test_accepting_an_offer_creates_one_fellow_with_the_home_country_and_cohort(app_ctx):
    call = CallFactory()
    application = submitted_application(call, nationality="VN", region="Asia")
    decisions.record_decision(application, DecisionOutcome.ACCEPT, "Selected.", None)
    decisions.send_decisions(call, UserFactory(roles=[Role.STAFF]))
    db.session.commit()
    assert fellow_count() == 0

    decisions.respond_to_offer(application, accept=True)
    db.session.commit()
    fellow = db.session.scalars(select(Fellow)).one()
    assert (fellow.application_id, fellow.user_id, fellow.call_id) == (application.id, application.applicant_id,
                                                                      call.id)
    assert (fellow.home_country, fellow.home_region, fellow.status) == ("VN", "Asia", FellowStatus.PRE_ARRIVAL)
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "fellows.created")) is not None

    again = services.create_fellow(application)  # a second call (a retried hook) returns the same record
    db.session.commit()
    assert again.id == fellow.id and fellow_count() == 1


def test_declining_an_offer_creates_no_fellow(app_ctx):
    call = CallFactory()
    application = submitted_application(call)
    decisions.record_decision(application, DecisionOutcome.ACCEPT, "Selected.", None)
    decisions.send_decisions(call, UserFactory(roles=[Role.STAFF]))
    decisions.respond_to_offer(application, accept=False)
    db.session.commit()
    assert fellow_count() == 0


def test_staff_edit_the_fellowship_and_a_return_before_arrival_is_refused_beside_the_field(staff_client):
    fellow = in_japan(status=FellowStatus.PRE_ARRIVAL, arrival_date=None, planned_return_date=None)
    url = f"/staff/fellows/{fellow.id}"
    form = {"host_institution": "Tohoku University", "supervisor": "Prof. Sato", "study_programme": "MSc Ecology",
            "arrival_date": "2025-09-20", "planned_return_date": "2025-09-01", "status": "pre_arrival", "notes": ""}
    page = submit_form(staff_client, url, form).get_data(as_text=True)
    assert 'id="planned_return_date-error"' in page
    assert "The planned return date must be after the arrival date." in page
    db.session.expire_all()
    assert db.session.get_one(Fellow, fellow.id).host_institution == "Kyoto University"  # nothing saved

    page = submit_form(staff_client, url, {**form, "arrival_date": "", "planned_return_date": "",
                                           "status": "in_japan"}).get_data(as_text=True)
    assert 'id="arrival_date-error"' in page and "Enter the arrival date before marking the fellow in Japan." in page

    response = submit_form(staff_client, url, {**form, "planned_return_date": "2027-08-31", "status": "in_japan"})
    assert response.status_code == 302
    db.session.expire_all()
    saved = db.session.get_one(Fellow, fellow.id)
    assert (saved.host_institution, saved.supervisor, saved.study_programme) == ("Tohoku University", "Prof. Sato",
                                                                                 "MSc Ecology")
    assert (saved.arrival_date, saved.planned_return_date, saved.status) == (date(2025, 9, 20), date(2027, 8, 31),
                                                                             FellowStatus.IN_JAPAN)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "fellows.updated"))
    assert entry is not None and entry.details["changes"]["status"] == "in_japan"


def test_a_fellow_cannot_be_marked_completed_by_editing_nor_moved_back(app_ctx):
    fellow = in_japan()
    with pytest.raises(services.FellowFieldError, match="Record the return home"):
        services.update_fellow(fellow, by=None, status=FellowStatus.COMPLETED)
    with pytest.raises(services.FellowFieldError, match="status is “In Japan” cannot be marked “Pre-arrival”"):
        services.update_fellow(fellow, by=None, status=FellowStatus.PRE_ARRIVAL)
    services.update_fellow(fellow, by=None, status=FellowStatus.WITHDRAWN)
    assert fellow.status is FellowStatus.WITHDRAWN


def test_recording_the_return_makes_an_alumnus_with_follow_ups_at_the_programmes_months(staff_client):
    call = CallFactory(programme=ProgrammeFactory(followup_months=FIVE_YEARS))
    fellow = in_japan(call, arrival_date=date(2021, 9, 1), planned_return_date=date(2023, 8, 31))
    url = f"/staff/fellows/{fellow.id}/return"

    future = (date.today() + timedelta(days=3)).isoformat()
    page = submit_form(staff_client, url, {"actual_return_date": future}, page=f"/staff/fellows/{fellow.id}")
    assert page.status_code == 200 and "The return date cannot be in the future." in page.get_data(as_text=True)
    assert due_dates(fellow) == []

    response = submit_form(staff_client, url, {"actual_return_date": "2023-08-31"},
                           page=f"/staff/fellows/{fellow.id}", follow_redirects=True)
    assert "follow-up surveys are scheduled" in response.get_data(as_text=True)
    db.session.expire_all()
    fellow = db.session.get_one(Fellow, fellow.id)
    assert (fellow.status, fellow.actual_return_date) == (FellowStatus.COMPLETED, date(2023, 8, 31))
    # Same day of the month, clamped to the month's last day: 31 Aug + 6 months is 29 Feb in a leap year.
    assert due_dates(fellow) == [(6, date(2024, 2, 29), FollowUpStatus.SCHEDULED),
                                 (12, date(2024, 8, 31), FollowUpStatus.SCHEDULED),
                                 (24, date(2025, 8, 31), FollowUpStatus.SCHEDULED),
                                 (36, date(2026, 8, 31), FollowUpStatus.SCHEDULED),
                                 (60, date(2028, 8, 31), FollowUpStatus.SCHEDULED)]

    again = submit_form(staff_client, url, {"actual_return_date": "2023-09-01"}, page=f"/staff/fellows/{fellow.id}",
                        follow_redirects=True)
    assert "already recorded" in again.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get_one(Fellow, fellow.id).actual_return_date == date(2023, 8, 31)
    assert len(due_dates(fellow)) == 5


def test_a_short_programme_schedule_gives_a_non_leap_february_end(app_ctx):
    call = CallFactory(programme=ProgrammeFactory(followup_months=[6, 12]))
    fellow = in_japan(call, arrival_date=date(2023, 9, 1), planned_return_date=date(2025, 8, 31))
    services.record_return(fellow, date(2025, 8, 31), None, today=date(2025, 9, 1))
    db.session.commit()
    assert [(m, d) for m, d, _ in due_dates(fellow)] == [(6, date(2026, 2, 28)), (12, date(2026, 8, 31))]


def test_returns_due_lists_fellows_past_their_planned_date_and_staff_confirm_one_or_all_shown(staff_client):
    today = date.today()
    late = in_japan(application_fields={"given_name": "Late", "family_name": "Lwazi"},
                    arrival_date=today - timedelta(days=800), planned_return_date=today - timedelta(days=40))
    later = in_japan(application_fields={"given_name": "Later", "family_name": "Lindiwe"},
                     arrival_date=today - timedelta(days=800), planned_return_date=today - timedelta(days=2))
    not_yet = in_japan(application_fields={"given_name": "Notyet", "family_name": "Nuru"},
                       arrival_date=today - timedelta(days=300), planned_return_date=today + timedelta(days=30))
    make_alumnus(application_fields={"given_name": "Home", "family_name": "Already"})

    page = staff_client.get("/staff/fellows/returns-due").get_data(as_text=True)
    assert "Late Lwazi" in page and "Later Lindiwe" in page
    assert "Notyet" not in page and "Already" not in page
    assert page.index("Late Lwazi") < page.index("Later Lindiwe")  # the longest overdue first

    submit_form(staff_client, "/staff/fellows/returns-due", {"fellow_id": [str(late.id)]})
    db.session.expire_all()
    assert db.session.get_one(Fellow, late.id).status is FellowStatus.COMPLETED
    assert db.session.get_one(Fellow, late.id).actual_return_date == today - timedelta(days=40)
    assert db.session.get_one(Fellow, later.id).status is FellowStatus.IN_JAPAN
    assert len(due_dates(late)) == 5

    # "Confirm all shown" posts the shown ids; an id that is not due (still before its date) is left alone.
    response = submit_form(staff_client, "/staff/fellows/returns-due",
                           {"fellow_id": [str(later.id), str(not_yet.id), str(late.id)]}, follow_redirects=True)
    assert "1 return home confirmed." in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get_one(Fellow, later.id).status is FellowStatus.COMPLETED
    assert db.session.get_one(Fellow, not_yet.id).status is FellowStatus.IN_JAPAN
    assert "0 fellows past the planned return date" in staff_client.get("/staff/fellows/returns-due").get_data(
        as_text=True)


def test_the_fellows_list_filters_by_cohort_status_and_country(staff_client):
    cohort_a, cohort_b = CallFactory(year=2024, title="Cohort A"), CallFactory(year=2025, title="Cohort B")
    in_japan(cohort_a, application_fields={"given_name": "Kenya", "family_name": "One", "nationality": "KE"})
    in_japan(cohort_b, application_fields={"given_name": "Viet", "family_name": "Two", "nationality": "VN"},
             status=FellowStatus.PRE_ARRIVAL)
    make_alumnus(cohort_b, application_fields={"given_name": "Ghana", "family_name": "Three", "nationality": "GH"})

    def names(query: str) -> set[str]:
        html = staff_client.get(f"/staff/fellows{query}").get_data(as_text=True)
        return {n for n in ("Kenya One", "Viet Two", "Ghana Three") if n in html}

    assert names("") == {"Kenya One", "Viet Two", "Ghana Three"}
    assert names(f"?cohort={cohort_b.id}") == {"Viet Two", "Ghana Three"}
    assert names("?status=pre_arrival") == {"Viet Two"}
    assert names("?country=GH") == {"Ghana Three"}
    assert names(f"?cohort={cohort_b.id}&status=in_japan") == set()


def test_applicants_and_reviewers_get_403_on_every_fellows_and_alumni_page(client, app_ctx):
    fellow = make_alumnus()
    paths = ["/staff/fellows", f"/staff/fellows/{fellow.id}", "/staff/fellows/returns-due", "/staff/alumni",
             f"/staff/alumni/{fellow.id}", "/staff/alumni/overdue"]
    for role in (Role.APPLICANT, Role.REVIEWER):
        other = client.application.test_client()
        login(other, UserFactory(roles=[role]).email)
        for path in paths:
            assert other.get(path).status_code == 403, (role, path)
        token = csrf_token_from(other.get("/").get_data(as_text=True))
        response = other.post(f"/staff/fellows/{fellow.id}/return",
                              data={"csrf_token": token, "actual_return_date": "2025-01-01"})
        assert response.status_code == 403
    anonymous = client.application.test_client()
    assert anonymous.get("/staff/alumni").status_code == 302
    staff = client.application.test_client()
    login(staff, UserFactory(roles=[Role.STAFF]).email)
    for path in paths:
        assert staff.get(path).status_code == 200, path
    assert staff.get("/staff/alumni/999999").status_code == 404
