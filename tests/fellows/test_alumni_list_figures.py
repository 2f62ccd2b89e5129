"""The alumni list's total and cohort choices come from cached per-cohort figures: they must follow every change."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import update

from fellowship.auth.models import Role
from fellowship.extensions import db
from fellowship.fellows.models import Fellow, FellowStatus
from tests.alumni.factories import FellowFactory, make_alumnus
from tests.conftest import login
from tests.factories import CallFactory, UserFactory
from tests.querycount import counted_statements


@pytest.fixture
def staff_client(client, app_ctx):
    login(client, UserFactory(roles=[Role.STAFF]).email)
    return client


def total(client, query: str = "") -> int:
    html = client.get(f"/staff/alumni{query}").get_data(as_text=True)
    found = re.search(r"<p>(\d+) alumn", html)
    assert found, html
    return int(found.group(1))


def cohorts(client) -> list[str]:
    html = client.get("/staff/alumni").get_data(as_text=True)
    select = html[html.index('name="cohort"'):]
    return re.findall(r"<option[^>]*>([^<]*)</option>", select[:select.index("</select>")])[1:]


def test_a_fellow_coming_home_or_leaving_the_programme_changes_the_total_at_once(staff_client):
    call = CallFactory(year=2022, title="Leaders 2022")
    for _ in range(3):
        make_alumnus(call)
    in_japan = FellowFactory()
    assert total(staff_client) == 3
    assert total(staff_client) == 3  # now from the cache

    in_japan.status = FellowStatus.COMPLETED
    in_japan.actual_return_date = date(2025, 9, 1)
    db.session.commit()
    assert total(staff_client) == 4

    db.session.execute(update(Fellow).where(Fellow.id == in_japan.id).values(status=FellowStatus.WITHDRAWN))
    db.session.commit()
    assert total(staff_client) == 3


def test_the_cohort_choices_and_a_cohorts_total_follow_a_new_cohort_and_a_renamed_call(staff_client):
    older = CallFactory(year=2021, title="Leaders 2021")
    make_alumnus(older)
    assert cohorts(staff_client) == ["2021 · Leaders 2021"]

    newer = CallFactory(year=2023, title="Leaders 2023")
    make_alumnus(newer)
    make_alumnus(newer)
    assert cohorts(staff_client) == ["2023 · Leaders 2023", "2021 · Leaders 2021"]
    assert total(staff_client, f"?cohort={newer.id}") == 2
    assert total(staff_client, f"?cohort={older.id}") == 1

    older.title = "Environmental Leaders 2021"
    db.session.commit()
    assert cohorts(staff_client) == ["2023 · Leaders 2023", "2021 · Environmental Leaders 2021"]


def test_a_rolled_back_change_leaves_the_total_as_it_was(staff_client):
    call = CallFactory(year=2022)
    make_alumnus(call)
    assert total(staff_client) == 1
    make_alumnus(call)  # committed: 2
    fellow = db.session.query(Fellow).first()
    fellow.status = FellowStatus.WITHDRAWN
    db.session.flush()
    db.session.rollback()
    assert total(staff_client) == 2


def test_an_unchanged_list_counts_nothing(staff_client):
    call = CallFactory(year=2022)
    for _ in range(3):
        make_alumnus(call)
    staff_client.get("/staff/alumni")
    with counted_statements() as statements:
        assert total(staff_client) == 3
    assert not [s for s in statements if "count(" in s.lower()], statements
