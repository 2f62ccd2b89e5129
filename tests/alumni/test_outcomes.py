"""Outcome figures equal a hand-computed fixture, overall, per cohort and by region; the dashboard and downloads."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime
from typing import Any

import pytest
from openpyxl import load_workbook

from fellowship.alumni.models import FollowUpStatus as S
from fellowship.alumni.models import LeadershipLevel as L
from fellowship.alumni.outcomes import Figures, cohort_comparison, outcomes
from fellowship.applications.models import ApplicationStatus
from fellowship.auth.models import Role
from fellowship.fellows.models import FellowStatus
from fellowship.geo import region_of
from tests.alumni.factories import FellowFactory, add_career, add_follow_up, add_response, make_alumnus
from tests.conftest import login
from tests.factories import CallFactory, UserFactory, submitted_application


def _alumnus(call: Any, country: str, given: str, **kw: Any) -> Any:
    return make_alumnus(call, application_fields={"nationality": country, "region": region_of(country),
                                                  "given_name": given, "family_name": "Tester"}, **kw)


def build_fixture() -> dict[str, Any]:
    """Two cohorts, six alumni; the expected figures are worked out by hand below each person.

    Cohort A (2021):
      A1 Kenya (Africa): answered 6 m (living in Japan) then 12 m (living in Kenya) -> latest Kenya: returned.
         Current career: environmental, manager (leadership). Follow-ups: 6 m completed, 12 m completed.
      A2 Nigeria (Africa): answered, living in the UK (Europe): not returned. Career: not environmental, staff.
         Follow-ups: 6 m completed, 12 m overdue.
      A3 Viet Nam (Asia): answered, living in Thailand (Asia): returned (same region, another country).
         Career: environmental, staff (an older, ended senior post does not count). 6 m completed, 12 m reminded.
    Cohort B (2022):
      B1 Indonesia (Asia): never answered (not in the return-rate denominator). Career (from the account):
         environmental, team lead. 6 m lapsed, 12 m scheduled. Lost contact.
      B2 Kenya (Africa): answered, living in Kenya: returned. No career entry. 6 m completed, 12 m sent.
      B3 Bangladesh (Asia, home region not stored: derived from the country): nothing answered, no career;
         6 m scheduled.
    Not alumni (left out everywhere): a fellow still in Japan in cohort A, with an answer and a career.
    """
    a = CallFactory(title="Environmental Leaders 2021", year=2021)
    b = CallFactory(title="Environmental Leaders 2022", year=2022, programme=a.programme)
    early, late = datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 9, 1, tzinfo=UTC)

    a1 = _alumnus(a, "KE", "Achieng")
    r = add_follow_up(a1, 6, S.COMPLETED)
    add_response(r, "JP", submitted_at=early)
    add_response(add_follow_up(a1, 12, S.COMPLETED), "KE", submitted_at=late)
    add_career(a1, environmental=True, level=L.MANAGER)

    a2 = _alumnus(a, "NG", "Bello")
    add_response(add_follow_up(a2, 6, S.COMPLETED), "GB")
    add_follow_up(a2, 12, S.OVERDUE)
    add_career(a2, environmental=False, level=L.STAFF, country="GB")

    a3 = _alumnus(a, "VN", "Minh")
    add_response(add_follow_up(a3, 6, S.COMPLETED), "TH")
    add_follow_up(a3, 12, S.REMINDED)
    add_career(a3, environmental=True, level=L.SENIOR, ended=date(2025, 1, 1))
    add_career(a3, environmental=True, level=L.STAFF, country="TH")

    b1 = _alumnus(b, "ID", "Siti", lost_contact_since=datetime(2026, 1, 1, tzinfo=UTC))
    add_follow_up(b1, 6, S.LAPSED)
    add_follow_up(b1, 12, S.SCHEDULED)
    add_career(b1, environmental=True, level=L.TEAM_LEAD)

    b2 = _alumnus(b, "KE", "Wanjiru")
    add_response(add_follow_up(b2, 6, S.COMPLETED), "KE")
    add_follow_up(b2, 12, S.SENT)

    b3 = _alumnus(b, "BD", "Nusrat", home_region=None)
    add_follow_up(b3, 6, S.SCHEDULED)

    in_japan = FellowFactory(application=submitted_application(a, status=ApplicationStatus.OFFER_ACCEPTED),
                             status=FellowStatus.IN_JAPAN)
    add_response(add_follow_up(in_japan, 6, S.COMPLETED), "KE")
    add_career(in_japan, environmental=True, level=L.SENIOR)
    return {"a": a, "b": b, "alumni": [a1, a2, a3, b1, b2, b3]}


def headline(page: str, figure: str, words: str) -> bool:
    """The dashboard's summary card showing `figure`, whose label ends with `words` (e.g. '3 of 4 who answered')."""
    return re.search(rf'<span class="figure">{re.escape(figure)}</span>\s*<span class="label">[^<]*'
                     rf'{re.escape(words)}</span>', page) is not None


def counts(f: Figures) -> tuple[int, ...]:
    """(alumni, answered, returned, with career, environmental, leadership, sent, completed, overdue, lapsed, lost)."""
    return (f.alumni, f.answered, f.returned, f.with_career, f.environmental, f.leadership, f.followups_sent,
            f.followups_completed, f.overdue, f.lapsed, f.lost_contact)


def test_overall_figures_equal_the_hand_computed_fixture(app_ctx):
    build_fixture()
    o = outcomes().overall
    # 6 alumni; answered: A1 A2 A3 B2 = 4, returned A1 A3 B2 = 3 -> 3/4 = 75 %.
    # Current career: A1 A2 A3 B1 = 4; environmental A1 A3 B1 = 3 -> 75 %; leadership A1 B1 = 2 -> 50 %.
    # Sent (not scheduled): A1 2 + A2 2 + A3 2 + B1 1 + B2 2 = 9; completed A1 2 + A2 + A3 + B2 = 5 -> 5/9.
    # Overdue 1 (A2), lapsed 1 (B1), lost contact 1 (B1).
    assert counts(o) == (6, 4, 3, 4, 3, 2, 9, 5, 1, 1, 1)
    assert o.return_rate == 0.75
    assert o.environmental_share == 0.75
    assert o.leadership_share == 0.5
    assert o.response_rate == pytest.approx(5 / 9)


def test_per_cohort_figures_equal_the_hand_computed_fixture(app_ctx):
    data = build_fixture()
    a, b = outcomes(data["a"].id).overall, outcomes(data["b"].id).overall
    # Cohort A: returned A1 A3 of 3 answered = 2/3; env A1 A3 of 3 = 2/3; leadership A1 = 1/3;
    # sent 6, completed 4; overdue 1 (A2); nothing lapsed or lost.
    assert counts(a) == (3, 3, 2, 3, 2, 1, 6, 4, 1, 0, 0)
    assert a.return_rate == pytest.approx(2 / 3) and a.leadership_share == pytest.approx(1 / 3)
    # Cohort B: only B2 answered, and returned = 1/1; career only B1 (env, team lead) = 1/1 and 1/1;
    # sent 3 (B1 lapsed, B2 completed + sent), completed 1; lapsed 1 and lost 1 (B1).
    assert counts(b) == (3, 1, 1, 1, 1, 1, 3, 1, 0, 1, 1)
    assert (b.return_rate, b.environmental_share, b.leadership_share) == (1.0, 1.0, 1.0)
    assert b.response_rate == pytest.approx(1 / 3)

    comparison = cohort_comparison()
    assert [f.label for f in comparison] == ["Environmental Leaders 2021", "Environmental Leaders 2022"]
    assert [counts(f) for f in comparison] == [counts(a), counts(b)]


def test_figures_by_home_region_and_country_equal_the_hand_computed_fixture(app_ctx):
    build_fixture()
    data = outcomes()
    regions = {f.label: f for f in data.by_region}
    assert set(regions) == {"Africa", "Asia"}  # B3's region derived from Bangladesh, not "Unknown"
    # Africa: A1 A2 B2; answered 3, returned A1 B2 = 2/3; career A1 A2: env 1, leadership 1;
    # sent 2 + 2 + 2 = 6, completed 2 + 1 + 1 = 4; overdue 1.
    assert counts(regions["Africa"]) == (3, 3, 2, 2, 1, 1, 6, 4, 1, 0, 0)
    # Asia: A3 B1 B3; answered A3 = 1, returned 1; career A3 B1: env 2, leadership 1 (B1);
    # sent 2 + 1 = 3, completed 1; lapsed 1, lost 1.
    assert counts(regions["Asia"]) == (3, 1, 1, 2, 2, 1, 3, 1, 0, 1, 1)
    # Countries, most alumni first: Kenya (A1 B2, both returned), then the others by code.
    assert [f.key for f in data.by_country] == ["KE", "BD", "ID", "NG", "VN"]
    kenya = data.by_country[0]
    assert (kenya.label, kenya.alumni, kenya.answered, kenya.returned) == ("Kenya", 2, 2, 2)
    nigeria = next(f for f in data.by_country if f.key == "NG")
    assert nigeria.return_rate == 0.0


def test_figures_with_no_alumni_are_zero_and_rates_not_available(app_ctx):
    o = outcomes().overall
    assert counts(o) == (0,) * 11
    assert o.return_rate is None and o.response_rate is None


@pytest.fixture
def staff(app_ctx):
    return UserFactory(roles=[Role.STAFF])


def test_dashboard_shows_headline_figures_charts_and_tables_to_staff(client, app_ctx, staff):
    data = build_fixture()
    login(client, staff.email)
    page = client.get("/staff/outcomes").get_data(as_text=True)
    assert headline(page, "75.0%", "3 of 4 who answered")
    assert headline(page, "55.6%", "5 of 9 sent")
    assert page.count('<svg xmlns="http://www.w3.org/2000/svg" role="img"') == 4
    assert "<title" in page and "style=" not in page
    # the figures table by region: Africa's return rate 2/3, Asia's 1/1
    assert re.search(r'<th scope="row">Africa</th><td>\d+</td>\s*<td>66.7% <span class="hint">\(2/3\)', page)
    assert re.search(r'<th scope="row">Asia</th><td>\d+</td>\s*<td>100.0% <span class="hint">\(1/1\)', page)
    # cohort comparison table lists both cohorts
    assert re.search(r'<th scope="row">Environmental Leaders 2021</th><td>\d+</td>\s*<td>66.7%', page)

    cohort_page = client.get(f"/staff/outcomes?cohort={data['b'].id}").get_data(as_text=True)
    assert "Outcomes: Environmental Leaders 2022" in cohort_page
    assert headline(cohort_page, "100.0%", "1 of 1 who answered")
    assert client.get("/staff/outcomes?cohort=999999").status_code == 404


def test_outcomes_and_their_downloads_are_refused_to_non_staff(client, app_ctx):
    user = UserFactory(roles=[Role.REVIEWER])
    login(client, user.email)
    for url in ("/staff/outcomes", "/staff/outcomes.csv", "/staff/outcomes.xlsx", "/staff/alumni/export"):
        assert client.get(url).status_code == 403


def test_figures_download_as_csv_and_xlsx_with_the_same_numbers(client, app_ctx, staff):
    build_fixture()
    login(client, staff.email)
    response = client.get("/staff/outcomes.csv?cohort=all")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    header, overall = rows[0], rows[1]
    assert overall[0] == "Overall (All cohorts)"
    assert dict(zip(header, overall, strict=True))["Return rate"] == "0.7500"
    assert overall[2:5] == ["6", "4", "3"]
    scopes = [row[:2] for row in rows[1:]]
    assert ["Home region", "Africa"] in scopes and ["Home country", "Kenya"] in scopes
    assert ["Cohort", "Environmental Leaders 2022"] in scopes

    response = client.get("/staff/outcomes.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[1][:7] == ("Overall (All cohorts)", "All alumni", 6, 4, 3, 0.75, 4)


def test_nav_shows_outcomes_to_staff(client, app_ctx, staff):
    login(client, staff.email)
    page = client.get("/").get_data(as_text=True)
    assert 'href="/staff/outcomes"' in page and 'href="/alumni/directory"' in page


def test_the_dashboard_shows_each_figure_once_and_its_charts_fit_a_phone(client, app_ctx, staff):
    build_fixture()
    login(client, staff.email)
    page = client.get("/staff/outcomes").get_data(as_text=True)
    # One figures table per section; no table of the same numbers repeated under each chart.
    assert page.count("<table") == 3 and "chart-data" not in page
    assert page.count("holds the same figures") == 4  # each chart names the table that holds its numbers
    # Drawn at most 358 px wide (a 390 px phone's column), so no chart is shrunk to unreadable text.
    widths = [int(w) for w in re.findall(r'<svg [^>]*class="chart" width="(\d+)"', page)]
    assert len(widths) == 4 and max(widths) <= 358
    assert all(int(size) >= 11 for size in re.findall(r'font-size="(\d+)"', page))
