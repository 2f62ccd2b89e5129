"""One user's "apply" and "withdraw" sent several times at once: no error page, one application, one effect.

Each thread has its own test client (its own app context, database session and connection, as under gunicorn),
released together by a barrier. They run on SQLite too, where writers take turns but a check made before the
write can still be stale.
"""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select

from fellowship.applications import services
from fellowship.applications.models import Application, ApplicationStatus
from fellowship.audit.models import AuditEntry
from fellowship.extensions import db
from fellowship.notifications.models import OutboxMessage
from tests.applications.helpers import DECLARED, make_complete, owner_email
from tests.factories import ApplicationFactory, CallFactory, UserFactory
from tests.races import at_once, count, signed_in_clients


def test_applying_twice_in_a_row_takes_the_user_to_the_same_application(app, app_ctx):
    call = CallFactory()
    user = UserFactory()
    [client], token = signed_in_clients(app, user.email, 1, f"/calls/{call.id}")
    first = client.post(f"/calls/{call.id}/apply", data={"csrf_token": token})
    again = client.post(f"/calls/{call.id}/apply", data={"csrf_token": token})
    assert first.status_code == again.status_code == 302 and first.location == again.location
    assert count(Application) == 1 and count(AuditEntry, AuditEntry.action == "applications.started") == 1


def test_six_applies_at_once_by_one_user_give_one_application_and_no_error(app, app_ctx):
    call = CallFactory()
    user = UserFactory()
    clients, token = signed_in_clients(app, user.email, 6, f"/calls/{call.id}")
    results = at_once([lambda c=c: c.post(f"/calls/{call.id}/apply", data={"csrf_token": token})
                       for c in clients])
    statuses = [getattr(r, "status_code", r) for r in results]
    assert statuses == [302] * 6, statuses
    application = db.session.scalars(select(Application)).one()
    assert {r.location for r in results} == {f"/applications/{application.id}"}
    assert application.applicant_id == user.id and application.call_id == call.id
    assert count(AuditEntry, AuditEntry.action == "applications.started") == 1
    page = clients[0].get(results[0].location)
    assert page.status_code == 200 and "Personal details" in page.get_data(as_text=True)


def test_withdrawing_twice_in_a_row_says_it_cannot_be_withdrawn_again(app, app_ctx):
    application = make_complete(ApplicationFactory())
    services.submit_application(application, DECLARED)
    db.session.commit()
    [client], token = signed_in_clients(app, owner_email(application), 1, f"/applications/{application.id}")
    url = f"/applications/{application.id}/withdraw"
    assert "Your application is withdrawn." in client.post(url, data={"csrf_token": token},
                                                           follow_redirects=True).get_data(as_text=True)
    again = client.post(url, data={"csrf_token": token}, follow_redirects=True).get_data(as_text=True)
    assert "already withdrawn" in again
    assert count(OutboxMessage, OutboxMessage.template == "applications/withdrawn") == 1
    assert count(AuditEntry, AuditEntry.action == "applications.withdrawn") == 1


def test_four_withdrawals_at_once_withdraw_once_with_one_email(app, app_ctx):
    application = make_complete(ApplicationFactory())
    services.submit_application(application, DECLARED)
    db.session.commit()
    clients, token = signed_in_clients(app, owner_email(application), 4, f"/applications/{application.id}")
    url = f"/applications/{application.id}/withdraw"

    def withdraw(client: FlaskClient) -> str:
        response = client.post(url, data={"csrf_token": token})
        assert response.status_code == 302, response.status_code
        return client.get(response.location).get_data(as_text=True)

    pages = at_once([lambda c=c: withdraw(c) for c in clients])
    assert all(isinstance(p, str) for p in pages), pages
    assert sum("Your application is withdrawn." in p for p in pages) == 1
    assert sum("already withdrawn" in p for p in pages) == 3
    db.session.expire_all()
    assert db.session.get_one(Application, application.id).status is ApplicationStatus.WITHDRAWN
    assert count(OutboxMessage, OutboxMessage.template == "applications/withdrawn") == 1
    assert count(AuditEntry, AuditEntry.action == "applications.withdrawn") == 1
