"""Answers stay in the language they were typed in: staff and reviewers are told which language that is."""

from __future__ import annotations

import html as html_lib

from fellowship.auth.models import Role
from fellowship.extensions import db
from fellowship.selection.reviewing import reviewer_view
from tests.conftest import login, submit_form
from tests.factories import ApplicationFactory, CallFactory, UserFactory


def test_staff_and_reviewers_see_the_language_an_application_is_written_in(app, app_ctx):
    UserFactory(email="staff@example.org", roles=[Role.STAFF], locale="en")
    call = CallFactory()
    application = ApplicationFactory(call=call, applicant=UserFactory(email="awa@example.org", locale="fr"))

    applicant = app.test_client()
    login(applicant, "awa@example.org")
    motivation = "Je veux protéger la mangrove du delta du Saloum."
    response = submit_form(applicant, f"/applications/{application.id}/sections/motivation",
                           {"motivation": motivation, "submit": "1"})
    assert response.status_code == 302
    db.session.refresh(application)  # written by the request
    assert application.locale == "fr"

    staff = app.test_client()
    login(staff, "staff@example.org")
    page = html_lib.unescape(staff.get(f"/staff/applications/{application.id}").get_data(as_text=True))
    assert "<dt>Written in</dt><dd>French</dd>" in page
    assert motivation in page  # shown as typed, not translated

    view = reviewer_view(application)
    assert view.locale == "fr"
