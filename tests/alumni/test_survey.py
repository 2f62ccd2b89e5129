"""The follow-up survey through the emailed link, and the alumnus's own career page."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime

from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import func, select

from fellowship.alumni import followups
from fellowship.alumni.models import CareerEntry, FollowUp, FollowUpResponse, FollowUpStatus, LeadershipLevel
from fellowship.alumni.survey import LINK_EXPIRED, LINK_USED
from fellowship.applications.models import Sector
from fellowship.audit.models import AuditEntry
from fellowship.auth.models import User
from fellowship.extensions import db
from fellowship.fellows.models import Fellow, FellowStatus
from fellowship.notifications.models import OutboxMessage
from tests.alumni.factories import FellowFactory, make_alumnus
from tests.conftest import csrf_token_from, login, submit_form
from tests.factories import UserFactory

RETURNED = date(2024, 1, 15)
SENT_AT = datetime(2024, 7, 15, 1, 0, tzinfo=UTC)

ANSWER = {
    "country_of_residence": "GH", "country_of_work": "TG", "position": "Coastal programme manager",
    "organisation": "West Africa Coastal Trust", "sector": "ngo", "country": "GH", "environmental": "yes",
    "leadership_level": "manager", "projects_led": "3", "policies_contributed": "2", "publications": "4",
    "people_trained": "120", "awards": "1", "collaboration_with_japan": "yes",
    "achievements_text": "Mangrove restoration across three districts.", "directory_consent": "y",
}


def sent_alumnus(lost_contact: bool = False) -> tuple[Fellow, str]:
    """An alumnus whose 6-month follow-up was emailed; returns the fellow and the link's path."""
    fellow = make_alumnus(returned_on=RETURNED, home_country="GH")
    if lost_contact:
        fellow.lost_contact_since = datetime(2024, 1, 1, tzinfo=UTC)
    followups.schedule_follow_ups(fellow)
    db.session.commit()
    followups.run_daily(SENT_AT)
    message = db.session.scalars(select(OutboxMessage).where(OutboxMessage.template == "alumni/followup_invitation")
                                 .order_by(OutboxMessage.id.desc())).first()
    assert message is not None
    return fellow, message.context["survey_url"].removeprefix("http://localhost")


def six_month(fellow_id: int) -> FollowUp:
    db.session.expire_all()
    return db.session.scalars(select(FollowUp).where(FollowUp.fellow_id == fellow_id,
                                                     FollowUp.months_after_return == 6)).one()


def test_a_valid_answer_stores_the_response_the_career_and_the_directory_consent(client, app_ctx):
    fellow, path = sent_alumnus(lost_contact=True)
    fellow_id = fellow.id
    page = client.get(path)
    assert page.status_code == 200 and "Your 6 months follow-up" in page.get_data(as_text=True)

    response = submit_form(client, path, ANSWER, follow_redirects=True)
    assert response.status_code == 200 and "Your follow-up answers were received" in response.get_data(as_text=True)

    follow_up = six_month(fellow_id)
    assert follow_up.status is FollowUpStatus.COMPLETED and follow_up.link_nonce is None
    stored = db.session.scalars(select(FollowUpResponse).where(FollowUpResponse.follow_up_id == follow_up.id)).one()
    assert (stored.country_of_residence, stored.country_of_work, stored.projects_led, stored.policies_contributed,
            stored.publications, stored.people_trained, stored.awards, stored.collaboration_with_japan,
            stored.directory_consent) == ("GH", "TG", 3, 2, 4, 120, 1, True, True)
    career = db.session.scalars(select(CareerEntry).where(CareerEntry.fellow_id == fellow_id)).one()
    assert (career.position, career.organisation, career.sector, career.country, career.environmental,
            career.leadership_level, career.follow_up_id, career.end_date) == (
        "Coastal programme manager", "West Africa Coastal Trust", Sector.NGO, "GH", True, LeadershipLevel.MANAGER,
        follow_up.id, None)
    fellow = db.session.get_one(Fellow, fellow_id)
    assert fellow.directory_opt_in is True and fellow.lost_contact_since is None
    assert db.session.scalar(select(AuditEntry.details).where(AuditEntry.action == "alumni.follow_up_answered")
                             )["recovered"] is True


def test_an_answer_with_the_same_position_as_now_adds_no_career_entry(client, app_ctx):
    fellow, path = sent_alumnus()
    fellow_id = fellow.id
    db.session.add(CareerEntry(fellow_id=fellow_id, position="Coastal programme manager",
                               organisation="West Africa Coastal Trust", sector=Sector.NGO, country="GH",
                               start_date=date(2024, 2, 1), environmental=True,
                               leadership_level=LeadershipLevel.MANAGER))
    db.session.commit()
    page = client.get(path).get_data(as_text=True)
    assert 'value="Coastal programme manager"' in page  # the form starts from the current position
    submit_form(client, path, ANSWER)
    assert db.session.scalar(select(func.count()).select_from(CareerEntry)
                             .where(CareerEntry.fellow_id == fellow_id, CareerEntry.end_date.is_(None))) == 1
    assert db.session.scalar(select(func.count()).select_from(CareerEntry)) == 1


def test_a_survey_answer_with_a_negative_count_is_refused_beside_the_field(client, app_ctx):
    fellow, path = sent_alumnus()
    response = submit_form(client, path, {**ANSWER, "publications": "-2", "environmental": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Enter 0 or more." in html and "Answer yes or no." in html
    assert six_month(fellow.id).status is FollowUpStatus.SENT
    assert db.session.scalar(select(func.count()).select_from(FollowUpResponse)) == 0


def test_an_already_used_link_is_refused_with_a_clear_message(client, app_ctx):
    fellow, path = sent_alumnus()
    token_of_a_second_tab = csrf_token_from(client.get(path).get_data(as_text=True))
    submit_form(client, path, ANSWER)
    again = client.get(path)
    assert again.status_code == 400 and LINK_USED in again.get_data(as_text=True)
    # The form left open in the second tab is refused too, and nothing more is stored.
    posted = client.post(path, data={**ANSWER, "csrf_token": token_of_a_second_tab})
    assert posted.status_code == 400 and LINK_USED in posted.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(FollowUpResponse)) == 1


def test_an_expired_link_is_refused_with_a_clear_message(client, app, app_ctx):
    fellow, _ = sent_alumnus()
    follow_up = six_month(fellow.id)

    class IssuedLongAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - followups.LINK_MAX_AGE - 3600

    serializer = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=followups.LINK_SALT, signer=IssuedLongAgo)
    token = serializer.dumps({"fid": follow_up.id, "n": follow_up.link_nonce})
    response = client.get(f"/follow-up/{token}")
    assert response.status_code == 400
    assert LINK_EXPIRED in response.get_data(as_text=True)
    assert six_month(fellow.id).status is FollowUpStatus.SENT


def test_a_forged_or_altered_link_is_refused(client, app_ctx):
    fellow, path = sent_alumnus()
    forged = client.get("/follow-up/not-a-real-token")
    assert forged.status_code == 400 and "This link is not valid" in forged.get_data(as_text=True)
    other_nonce = followups.follow_up_token(six_month(fellow.id).id, "guessed-nonce")
    altered = client.get(f"/follow-up/{other_nonce}")
    assert altered.status_code == 400 and "This link is not valid" in altered.get_data(as_text=True)
    assert six_month(fellow.id).status is FollowUpStatus.SENT


CAREER = {"position": "Director of environment", "organisation": "Ministry of Environment", "sector": "government",
          "country": "GH", "environmental": "yes", "leadership_level": "senior_leader"}


def test_an_alumnus_adds_a_position_from_the_account_and_the_previous_one_is_closed(client, app_ctx):
    fellow = make_alumnus(returned_on=RETURNED)
    fellow_id = fellow.id
    email = db.session.get_one(User, fellow.user_id).email
    db.session.add(CareerEntry(fellow_id=fellow_id, position="Officer", organisation="EPA", sector=Sector.GOVERNMENT,
                               country="GH", start_date=date(2024, 2, 1), environmental=True,
                               leadership_level=LeadershipLevel.STAFF))
    db.session.commit()
    login(client, email)
    page = client.get("/alumni/career")
    assert page.status_code == 200 and "Officer" in page.get_data(as_text=True)

    response = submit_form(client, "/alumni/career", CAREER, follow_redirects=True)
    assert "Your current position is saved." in response.get_data(as_text=True)
    db.session.expire_all()
    rows = db.session.execute(select(CareerEntry.position, CareerEntry.end_date, CareerEntry.follow_up_id)
                              .where(CareerEntry.fellow_id == fellow_id).order_by(CareerEntry.id)).all()
    assert [r.position for r in rows] == ["Officer", "Director of environment"]
    assert rows[0].end_date == datetime.now(UTC).date() and rows[1].end_date is None and rows[1].follow_up_id is None

    consent = submit_form(client, "/alumni/career/directory", {"directory_consent": "y"}, page="/alumni/career",
                          follow_redirects=True)
    assert "You are listed in the alumni directory." in consent.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get_one(Fellow, fellow_id).directory_opt_in is True


def test_the_career_page_is_404_for_anyone_who_is_not_an_alumnus(client, app_ctx):
    applicant = UserFactory()
    in_japan = FellowFactory(status=FellowStatus.IN_JAPAN)
    in_japan_email = db.session.get_one(User, in_japan.user_id).email
    login(client, applicant.email)
    assert client.get("/alumni/career").status_code == 404
    other = make_alumnus(returned_on=RETURNED)
    db.session.add(CareerEntry(fellow_id=other.id, position="Secret position", organisation="X", sector=Sector.NGO,
                               country="GH", environmental=True, leadership_level=LeadershipLevel.STAFF))
    db.session.commit()
    fresh = client.application.test_client()
    login(fresh, in_japan_email)
    assert fresh.get("/alumni/career").status_code == 404
    assert "Secret position" not in fresh.get("/alumni/career").get_data(as_text=True)


def test_the_career_page_asks_for_login(client, app_ctx):
    response = client.get("/alumni/career")
    assert response.status_code == 302 and "/auth/login" in response.location


def test_a_follow_up_link_opened_while_logged_in_as_another_person_is_refused(client, app_ctx):
    fellow, path = sent_alumnus()
    db.session.add(CareerEntry(fellow_id=fellow.id, position="Head of the coastal unit", organisation="Ministry",
                               sector=Sector.GOVERNMENT, country="GH", start_date=date(2024, 2, 1),
                               environmental=True, leadership_level=LeadershipLevel.MANAGER))
    db.session.commit()
    other = make_alumnus()
    login(client, db.session.get_one(User, other.user_id).email)
    page = client.get(path)
    html = page.get_data(as_text=True)
    assert page.status_code == 403 and "sent to another person" in html and "Log out" in html
    assert "Head of the coastal unit" not in html  # nothing of the other person's is shown
    posted = client.post(path, data={**ANSWER, "csrf_token": csrf_token_from(html)})
    assert posted.status_code == 403
    assert six_month(fellow.id).status is FollowUpStatus.SENT
    assert db.session.scalar(select(func.count()).select_from(FollowUpResponse)) == 0


def test_the_alumnus_logged_in_with_their_own_account_can_answer_through_their_link(client, app_ctx):
    fellow, path = sent_alumnus()
    login(client, db.session.get_one(User, fellow.user_id).email)
    response = submit_form(client, path, ANSWER, follow_redirects=True)
    assert "Your follow-up answers were received" in response.get_data(as_text=True)
