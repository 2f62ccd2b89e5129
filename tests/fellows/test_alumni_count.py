"""The alumni list's total (counted on fellows alone unless a career or follow-up filter needs the joins) always
equals the rows the list shows, for every filter."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest

from fellowship.alumni.models import FollowUpStatus
from fellowship.applications.models import Sector
from fellowship.fellows.models import FellowStatus
from tests.alumni.factories import make_alumnus
from tests.factories import CallFactory
from tests.fellows.test_alumni_pages import TODAY, alumnus, career, follow_up, staff_client  # noqa: F401

QUERIES = ["", "?country=KE", "?country=GH", "?region=Asia", "?region=Africa", "?sector=government", "?sector=ngo",
           "?follow_up=overdue", "?follow_up=none", "?follow_up=completed", "?lost_contact=yes", "?lost_contact=no",
           "?region=Africa&sector=government", "?region=Asia&lost_contact=no", "?country=KE&follow_up=overdue"]


@pytest.fixture
def alumni(app_ctx):
    cohort_2021, cohort_2022 = CallFactory(year=2021, title="Cohort 2021"), CallFactory(year=2022, title="Cohort 2022")
    amani = alumnus(cohort_2021, "Amani", "Njeri", "KE", "Africa", TODAY - timedelta(days=900))
    linh = alumnus(cohort_2021, "Linh", "Nguyen", "VN", "Asia", TODAY - timedelta(days=800),
                   lost_contact_since=datetime(2026, 1, 5, tzinfo=UTC))
    kofi = alumnus(cohort_2022, "Kofi", "Mensah", "GH", "Africa", TODAY - timedelta(days=400))
    alumnus(cohort_2022, "Sita", "Gurung", "NP", "Asia", TODAY - timedelta(days=100))
    make_alumnus(cohort_2022, application_fields={"given_name": "Not", "family_name": "Returned"},
                 status=FellowStatus.IN_JAPAN, actual_return_date=None)
    # Two current career entries and two due follow-ups for Amani: the list still shows Amani once.
    career(amani, "Water officer", Sector.GOVERNMENT, date(2022, 1, 1))
    career(amani, "Programme lead", Sector.NGO, date(2024, 1, 2))
    career(kofi, "Analyst", Sector.GOVERNMENT, date(2025, 1, 1))
    follow_up(amani, 6, TODAY - timedelta(days=700), FollowUpStatus.COMPLETED)
    follow_up(amani, 12, TODAY - timedelta(days=500), FollowUpStatus.OVERDUE)
    follow_up(linh, 12, TODAY - timedelta(days=400), FollowUpStatus.LAPSED)
    return cohort_2021


@pytest.mark.parametrize("query", QUERIES)
def test_the_alumni_total_equals_the_rows_shown(staff_client, alumni, query):  # noqa: F811
    html = staff_client.get(f"/staff/alumni{query}").get_data(as_text=True)
    rows = len(re.findall(r'href="/staff/alumni/\d+"', html))
    match = re.search(r"<p>(\d+) alumn(?:us|i)", html)
    assert match, html
    assert int(match.group(1)) == rows


def test_the_alumni_total_of_one_cohort_equals_its_rows(staff_client, alumni):  # noqa: F811
    html = staff_client.get(f"/staff/alumni?cohort={alumni.id}").get_data(as_text=True)
    assert len(re.findall(r'href="/staff/alumni/\d+"', html)) == 2 and "2 alumni match" in html
