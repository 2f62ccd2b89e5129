"""My surveys: a logged-in alumnus answers a waiting follow-up in the app, without the emailed link; only their own,
once (claimed by one conditional UPDATE, like the link), and the emailed link is used up with it."""

from __future__ import annotations

from sqlalchemy import func, select

from fellowship.alumni.models import FollowUpResponse, FollowUpStatus
from fellowship.auth.models import User
from fellowship.extensions import db
from tests.alumni.test_survey import ANSWER, sent_alumnus, six_month
from tests.conftest import csrf_token_from, login, submit_form
from tests.factories import UserFactory


def test_an_alumnus_answers_a_waiting_survey_from_my_surveys_and_the_emailed_link_is_used_up(client, app_ctx):
    fellow, link = sent_alumnus()
    alumnus = db.session.get_one(User, fellow.user_id)
    follow_up_id = six_month(fellow.id).id
    login(client, alumnus.email)
    listing = client.get("/alumni/surveys").get_data(as_text=True)
    assert f'href="/alumni/surveys/{follow_up_id}"' in listing and "6 months follow-up" in listing
    response = submit_form(client, f"/alumni/surveys/{follow_up_id}", ANSWER)
    assert response.status_code == 302 and response.headers["Location"] == "/alumni/surveys"
    follow_up = six_month(fellow.id)
    assert follow_up.status is FollowUpStatus.COMPLETED and follow_up.link_nonce is None
    assert db.session.scalar(select(func.count(FollowUpResponse.id))
                             .where(FollowUpResponse.follow_up_id == follow_up_id)) == 1
    after = client.get("/alumni/surveys").get_data(as_text=True)
    assert "No survey is waiting for you" in after and "Thank you" in after
    # Answered: the page says so instead of a second form, and the emailed link no longer works.
    again = client.get(f"/alumni/surveys/{follow_up_id}", follow_redirects=True).get_data(as_text=True)
    assert "already answered" in again
    client.post("/auth/logout", data={})
    assert "already answered" in client.get(link).get_data(as_text=True)


def test_a_survey_answered_meanwhile_through_the_link_is_not_answered_twice(client, app_ctx):
    from fellowship.alumni import survey

    fellow, _link = sent_alumnus()
    follow_up = six_month(fellow.id)
    alumnus = db.session.get_one(User, fellow.user_id)
    login(client, alumnus.email)
    page = client.get(f"/alumni/surveys/{follow_up.id}").get_data(as_text=True)
    # The answer arrives through the emailed link between the form's display and its submission.
    db.session.execute(survey.update(survey.FollowUp).where(survey.FollowUp.id == follow_up.id)
                       .values(status=FollowUpStatus.COMPLETED, link_nonce=None))
    db.session.commit()
    response = client.post(f"/alumni/surveys/{follow_up.id}", data={**ANSWER, "csrf_token": csrf_token_from(page)},
                           follow_redirects=True)
    assert "already answered" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(FollowUpResponse.id))
                             .where(FollowUpResponse.follow_up_id == follow_up.id)) == 0


def test_someone_elses_survey_is_not_found(client, app_ctx):
    fellow, _link = sent_alumnus()
    follow_up_id = six_month(fellow.id).id
    other = UserFactory()
    login(client, other.email)
    assert client.get(f"/alumni/surveys/{follow_up_id}").status_code == 404
    assert submit_form(client, f"/alumni/surveys/{follow_up_id}", ANSWER,
                       page="/auth/profile").status_code == 404
    assert six_month(fellow.id).status is FollowUpStatus.SENT
