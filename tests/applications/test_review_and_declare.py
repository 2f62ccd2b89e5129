"""Submit = review and declare (issue 13 item 1): one page shows everything and what is missing; the reference
number is issued only with every declaration made, and when and what was declared is stored."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from fellowship.applications import services
from fellowship.applications.declarations import DECLARATIONS, DeclarationsMissing
from fellowship.applications.models import Application, ApplicationStatus, ReferenceSeries
from fellowship.extensions import db
from tests.applications.helpers import DECLARATION_TICKS, make_complete, name_referees, owner_email
from tests.conftest import login, submit_form
from tests.factories import ApplicationFactory, CallFactory


def reload(application_id: int) -> Application:
    db.session.expire_all()
    return db.session.get_one(Application, application_id)


def test_a_submit_without_the_declarations_is_refused_beside_the_checkboxes_and_takes_no_number(client, app_ctx):
    application = make_complete(ApplicationFactory())
    login(client, owner_email(application))
    response = submit_form(client, f"/applications/{application.id}/submit", {"declare_true": "y"},
                           page=f"/applications/{application.id}/review")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Your application was not submitted" in html
    assert "Tick this box to consent to the processing described in the privacy notice." in html
    assert 'id="consent_privacy-error"' in html and "Tick this box to declare" not in html
    saved = reload(application.id)
    assert saved.status is ApplicationStatus.DRAFT and saved.reference is None and saved.declared_at is None
    assert db.session.scalar(select(func.count()).select_from(ReferenceSeries)) == 0


def test_the_service_refuses_a_submit_without_every_declaration(app_ctx):
    application = make_complete(ApplicationFactory())
    with pytest.raises(DeclarationsMissing):
        services.submit_application(application, {"true"})
    db.session.rollback()
    assert reload(application.id).status is ApplicationStatus.DRAFT


def test_submitting_with_the_declarations_stores_when_and_what_was_declared(client, app_ctx):
    application = make_complete(ApplicationFactory())
    login(client, owner_email(application))
    response = submit_form(client, f"/applications/{application.id}/submit", DECLARATION_TICKS,
                           page=f"/applications/{application.id}/review", follow_redirects=True)
    assert "Your reference number is" in response.get_data(as_text=True)
    saved = reload(application.id)
    assert saved.status is ApplicationStatus.SUBMITTED and saved.declared_at == saved.submitted_at
    assert saved.declarations == "\n".join(DECLARATIONS.values())


def test_the_review_page_shows_every_answer_and_each_missing_item_with_a_link_to_fix_it(client, app_ctx):
    application = ApplicationFactory(call=CallFactory(references_required=2), motivation=None)
    name_referees(application, count=1)
    login(client, owner_email(application))
    html = client.get(f"/applications/{application.id}/review").get_data(as_text=True)
    assert "Before you can submit" in html
    assert f'href="/applications/{application.id}/sections/motivation#motivation"' in html
    assert "Motivation: Motivation essay — This question needs an answer." in html
    assert f'href="/applications/{application.id}/documents">Documents: upload your CV' in html
    assert "name 1 more referee (1 of 2 named)" in html
    assert application.given_name in html  # the answers themselves
    assert 'name="declare_true"' not in html  # nothing to declare until the file is complete


def test_the_privacy_notice_is_public(client):
    response = client.get("/privacy")
    assert response.status_code == 200 and "Privacy notice" in response.get_data(as_text=True)
