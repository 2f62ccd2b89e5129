"""The staff list's status counts and nationality choices are cached per call; each change shows on the next view."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import update

from fellowship.applications.models import Application, ApplicationStatus
from fellowship.auth.models import Role
from fellowship.calls.models import Call
from fellowship.extensions import db
from tests.conftest import login
from tests.factories import CallFactory, UserFactory
from tests.querycount import counted_statements
from tests.staff.test_application_list import add, list_page


@pytest.fixture
def call(app_ctx) -> Call:
    call = CallFactory(title="Environmental Leaders 2027")
    add(call, "ELF-2027-00001", nationality="KE", region="Africa", status=ApplicationStatus.UNDER_REVIEW)
    add(call, "ELF-2027-00002", nationality="NG", region="Africa", status=ApplicationStatus.UNDER_REVIEW)
    add(call, None, status=ApplicationStatus.DRAFT, nationality="GH", region="Africa")
    return call


@pytest.fixture
def staff_client(client, app_ctx):
    login(client, UserFactory(roles=[Role.STAFF]).email)
    return client


def tabs(html: str) -> list[str]:
    nav = re.search(r'<nav class="tabs" aria-label="Applications by status">(.*?)</nav>', html, re.S)
    assert nav
    return re.findall(r">([^<>]+ \(\d+\))</a>", nav.group(1))


def nationalities(html: str) -> list[str]:
    select = re.search(r'<select[^>]*name="nationality"[^>]*>(.*?)</select>', html, re.S)
    assert select
    return re.findall(r'<option[^>]*value="([A-Z]{2})"', select.group(1))


def test_an_unchanged_call_reads_its_counts_from_the_cache(staff_client, call):
    list_page(staff_client, call)
    with counted_statements() as statements:
        html = list_page(staff_client, call)
    assert tabs(html) == ["All (3)", "Draft (1)", "Under review (2)"]
    assert not [s for s in statements if "GROUP BY" in s or "DISTINCT" in s], statements


def test_a_status_change_a_new_application_and_a_bulk_update_each_refresh_the_counts(staff_client, call):
    assert tabs(list_page(staff_client, call)) == ["All (3)", "Draft (1)", "Under review (2)"]

    first = db.session.scalar(db.select(Application).where(Application.reference == "ELF-2027-00001"))
    assert first is not None
    first.status = ApplicationStatus.WITHDRAWN
    db.session.commit()
    assert tabs(list_page(staff_client, call)) == ["All (3)", "Draft (1)", "Under review (1)", "Withdrawn (1)"]

    add(call, "ELF-2027-00003", nationality="VN", region="Asia", status=ApplicationStatus.UNDER_REVIEW)
    html = list_page(staff_client, call)
    assert tabs(html) == ["All (4)", "Draft (1)", "Under review (2)", "Withdrawn (1)"]
    assert "VN" in nationalities(html)

    # A bulk UPDATE, as submitting a draft does, bypasses the unit of work and still refreshes the counts.
    db.session.execute(update(Application).where(Application.call_id == call.id,
                                                  Application.status == ApplicationStatus.DRAFT)
                       .values(status=ApplicationStatus.SUBMITTED, reference="ELF-2027-00004"))
    db.session.commit()
    assert tabs(list_page(staff_client, call)) == ["All (4)", "Submitted (1)", "Under review (2)", "Withdrawn (1)"]


def test_one_calls_change_leaves_another_calls_counts_correct(staff_client, call):
    other = CallFactory(title="Another call")
    add(other, "ELF-2027-00099", nationality="KE", region="Africa")
    assert tabs(list_page(staff_client, other)) == ["All (1)", "Submitted (1)"]
    list_page(staff_client, call)
    add(other, "ELF-2027-00098", nationality="KE", region="Africa")
    assert tabs(list_page(staff_client, other)) == ["All (2)", "Submitted (2)"]
    assert tabs(list_page(staff_client, call)) == ["All (3)", "Draft (1)", "Under review (2)"]
