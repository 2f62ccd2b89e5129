"""The helpers every list page shares: per-row links built once, and pages that count only when they must."""

from __future__ import annotations

import pytest
from flask import url_for
from sqlalchemy import select

from fellowship.auth.models import User
from fellowship.navigation import row_url
from fellowship.pagination import paginate
from tests.factories import UserFactory


def test_a_row_link_is_the_same_url_that_url_for_builds(app):
    with app.test_request_context():
        adjust = row_url("selection.adjust_selection", "application_id", call_id=7, sort="raw", page=3)
        detail = row_url("staff_applications.application_detail", "application_id")
        for row_id in (1, 42, 2_000_000):
            assert adjust(row_id) == url_for("selection.adjust_selection", call_id=7, application_id=row_id,
                                             sort="raw", page=3)
            assert detail(row_id) == url_for("staff_applications.application_detail", application_id=row_id)


@pytest.mark.parametrize("users", [0, 1, 4, 5, 6, 11])
def test_counting_only_a_full_page_gives_the_same_pages_and_totals(app_ctx, users):
    for n in range(users):
        UserFactory(email=f"user{n:02d}@example.org")
    everyone = select(User.email).order_by(User.email)
    for page in (1, 2, 3):
        counted = paginate(everyone, page, 5)
        lazy = paginate(everyone, page, 5, count_if_full=True)
        assert (lazy.items, lazy.total, lazy.pages, lazy.has_next) == \
               (counted.items, counted.total, counted.pages, counted.has_next)
        assert counted.total == users
