"""The outcome dashboard's figures are cached, and every committed change to their inputs shows on the next view."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import update

from fellowship.alumni.models import FollowUp
from fellowship.alumni.models import FollowUpStatus as S
from fellowship.alumni.models import LeadershipLevel as L
from fellowship.alumni.outcomes import outcomes
from fellowship.auth.models import Role
from fellowship.extensions import db
from tests.alumni.factories import add_career, add_follow_up, add_response
from tests.alumni.test_outcomes import build_fixture, counts, headline
from tests.conftest import login
from tests.factories import UserFactory
from tests.querycount import counted_statements


@pytest.fixture
def staff(app_ctx):
    return UserFactory(roles=[Role.STAFF])


def test_unchanged_figures_come_from_the_cache_without_the_aggregate_query(app_ctx):
    build_fixture()
    first = outcomes()
    with counted_statements() as statements:
        again = outcomes()
    assert again == first
    assert not [s for s in statements if "follow_up_responses" in s], statements


def test_a_new_answer_a_career_entry_and_a_bulk_status_change_each_refresh_the_figures(app_ctx):
    data = build_fixture()
    b3 = data["alumni"][5]  # Bangladesh, nothing answered, no career, one scheduled follow-up
    before = outcomes().overall
    assert (before.answered, before.returned, before.with_career) == (4, 3, 4)

    add_response(add_follow_up(b3, 12, S.COMPLETED), "IN")  # living in India: Asia, so returned
    after_answer = outcomes().overall
    assert (after_answer.answered, after_answer.returned) == (5, 4)

    add_career(b3, environmental=True, level=L.MANAGER)
    after_career = outcomes().overall
    assert (after_career.with_career, after_career.environmental, after_career.leadership) == (5, 4, 3)

    # The daily job moves follow-ups on in bulk statements, not through the ORM's unit of work.
    db.session.execute(update(FollowUp).where(FollowUp.status == S.SCHEDULED).values(status=S.SENT))
    db.session.commit()
    assert outcomes().overall.followups_sent == after_career.followups_sent + 2


def test_a_rolled_back_change_leaves_the_cached_figures_in_place(app_ctx):
    data = build_fixture()
    before = outcomes().overall
    data["alumni"][0].lost_contact_since = datetime(2026, 2, 1, tzinfo=UTC)
    db.session.flush()
    db.session.rollback()
    assert counts(outcomes().overall) == counts(before)


def test_the_dashboard_page_shows_a_change_made_after_it_was_viewed(client, app_ctx, staff):
    data = build_fixture()
    login(client, staff.email)
    assert headline(client.get("/staff/outcomes").get_data(as_text=True), "75.0%", "3 of 4 who answered")
    add_response(add_follow_up(data["alumni"][3], 24, S.COMPLETED), "GB")  # Indonesia's alumnus, now in the UK
    assert headline(client.get("/staff/outcomes").get_data(as_text=True), "60.0%", "3 of 5 who answered")
