"""Reference numbers are unique by construction: calls that share a prefix and year draw from one series."""

from __future__ import annotations

from sqlalchemy import select

from fellowship.applications.models import Application, ApplicationStatus
from fellowship.extensions import db
from tests.applications.helpers import DECLARATION_TICKS, make_complete, owner_email
from tests.conftest import login, submit_form
from tests.factories import ApplicationFactory, CallFactory


def test_two_calls_with_the_same_prefix_and_year_never_hand_out_the_same_reference(app, app_ctx):
    first, second = CallFactory(reference_prefix="ELF", year=2027), CallFactory(reference_prefix="ELF", year=2027)
    drafts = [make_complete(ApplicationFactory(call=call)) for call in (first, second, first, second)]
    for draft in drafts:
        client = app.test_client()
        login(client, owner_email(draft))
        response = submit_form(client, f"/applications/{draft.id}/submit", DECLARATION_TICKS,
                               page=f"/applications/{draft.id}/review")
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
    db.session.expire_all()
    references = [db.session.get_one(Application, draft.id).reference for draft in drafts]
    assert references == ["ELF-2027-00001", "ELF-2027-00002", "ELF-2027-00003", "ELF-2027-00004"]
    statuses = db.session.scalars(select(Application.status).where(Application.id.in_([d.id for d in drafts])))
    assert set(statuses) == {ApplicationStatus.SUBMITTED}


def test_a_different_prefix_or_year_numbers_from_one(app_ctx):
    from fellowship.applications.services import take_reference_number

    assert take_reference_number("ELF", 2027) == "ELF-2027-00001"
    assert take_reference_number("ELF", 2028) == "ELF-2028-00001"
    assert take_reference_number("JDS", 2027) == "JDS-2027-00001"
    assert take_reference_number("ELF", 2027) == "ELF-2027-00002"
