"""Changes that check a state and then write, with another request changing that state at the same moment.

Each case keeps one transaction open (flushed, not committed) while another request, in its own app context
and database connection, tries its change (tests/races.py while_held): the second must decide on what the first
committed, not on what it read before. They run on PostgreSQL and on SQLite.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from fellowship.alumni import survey
from fellowship.alumni.models import CareerEntry, LeadershipLevel
from fellowship.applications import services
from fellowship.applications.answers import form_of, section_of
from fellowship.applications.models import Application, ApplicationStatus, Document, Referee, Sector
from fellowship.auth.models import Role, User
from fellowship.calls.models import DocumentKind
from fellowship.documents.services import store_document
from fellowship.eligibility.services import override_eligibility
from fellowship.extensions import db
from fellowship.fellows import services as fellows
from fellowship.fellows.models import Fellow, FellowStatus
from fellowship.referees import services as referees
from tests.alumni.factories import FellowFactory
from tests.applications.helpers import DECLARED, make_complete
from tests.documents.files import PDF
from tests.factories import ApplicationFactory, UserFactory, answer_of, submitted_application
from tests.races import count, in_own_context, while_held


def pdf_upload(name: str = "cv.pdf") -> FileStorage:
    return FileStorage(io.BytesIO(PDF), filename=name, content_type="application/pdf")


def application_of(application_id: int) -> Application:
    return db.session.get_one(Application, application_id)


def test_a_section_saved_while_the_application_is_being_submitted_is_refused(app, app_ctx):
    application_id = make_complete(ApplicationFactory(motivation="The essay as submitted. " * 60)).id

    def save() -> Any:
        application = application_of(application_id)
        motivation = section_of(form_of(application), "motivation")
        return services.save_section(application, motivation, {"motivation": "An edit sent after the submit. " * 60})

    submitted, saved = while_held(app, lambda: services.submit_application(application_of(application_id), DECLARED),
                                  in_own_context(app, save))
    assert isinstance(submitted, Application)
    assert saved == "refused: This application has been submitted and can no longer be changed."
    db.session.expire_all()
    after = application_of(application_id)
    assert after.status is ApplicationStatus.SUBMITTED
    assert answer_of(application_id, "motivation").startswith("The essay as submitted.")


def test_two_uploads_of_the_cv_at_once_leave_one_cv(app, app_ctx):
    application_id = ApplicationFactory().id

    def upload() -> Any:
        return store_document(application_of(application_id), DocumentKind.CV, pdf_upload()).id

    first, second = while_held(app, upload, in_own_context(app, upload))
    assert isinstance(first, int) and isinstance(second, int), (first, second)
    cvs = db.session.scalars(select(Document.id).where(Document.application_id == application_id,
                                                       Document.kind == DocumentKind.CV)).all()
    assert cvs == [second]  # the later upload replaced the earlier one


def test_a_document_uploaded_while_the_application_is_being_submitted_is_refused(app, app_ctx):
    application_id = make_complete(ApplicationFactory()).id
    before = count(Document, Document.application_id == application_id)

    def upload() -> Any:
        return store_document(application_of(application_id), DocumentKind.CV, pdf_upload()).id

    _submitted, uploaded = while_held(
        app, lambda: services.submit_application(application_of(application_id), DECLARED), in_own_context(app, upload))
    assert isinstance(uploaded, str) and uploaded.startswith("refused:")
    assert count(Document, Document.application_id == application_id) == before


def test_a_referee_cannot_be_removed_while_their_letter_is_arriving(app, app_ctx):
    application = ApplicationFactory()
    referee = referees.add_referee(application, "Prof. Grace Wanjiru", "wanjiru@uni.example", "Supervisor")
    db.session.commit()
    referee_id, token = referee.id, referees.letter_link(referee).rsplit("/", 1)[-1]

    def remove() -> None:
        referees.remove_referee(db.session.get_one(Referee, referee_id))

    letter, removed = while_held(app, lambda: referees.receive_letter(token, pdf_upload("letter.pdf")),
                                 in_own_context(app, remove))
    assert isinstance(letter, Document)
    assert removed == "refused: This referee's letter has arrived; the referee cannot be removed."
    db.session.expire_all()
    assert db.session.get_one(Referee, referee_id).received_at is not None


def test_referees_named_at_once_never_exceed_the_limit(app, app_ctx):
    application = ApplicationFactory()
    limit = referees.referee_limit(application.call)
    for i in range(limit - 1):
        referees.add_referee(application, f"Referee {i}", f"ref{i}@uni.example", "Supervisor")
    db.session.commit()
    application_id = application.id

    def add(email: str) -> Callable[[], Any]:
        return lambda: referees.add_referee(application_of(application_id), "Late referee", email, "Colleague")

    added, refused = while_held(app, add("last@uni.example"), in_own_context(app, add("extra@uni.example")))
    assert isinstance(added, Referee)
    assert refused == (f"refused: You can name at most {limit} referees. Remove one who has not sent a letter "
                       "first.")
    assert count(Referee, Referee.application_id == application_id) == limit


def test_an_eligibility_override_while_the_application_is_being_withdrawn_is_refused(app, app_ctx):
    application_id = submitted_application(status=ApplicationStatus.INELIGIBLE).id
    staff_id = UserFactory(roles=[Role.STAFF]).id

    def override() -> None:
        override_eligibility(application_of(application_id), True, "The degree is equivalent.",
                             db.session.get_one(User, staff_id))

    _withdrawn, overridden = while_held(app, lambda: services.withdraw_application(application_of(application_id)),
                                        in_own_context(app, override))
    assert isinstance(overridden, str) and overridden.startswith("refused: Eligibility can be overridden only")
    db.session.expire_all()
    assert application_of(application_id).status is ApplicationStatus.WITHDRAWN


def test_a_fellow_withdrawn_while_staff_mark_them_in_japan_stays_withdrawn(app, app_ctx):
    fellow_id = FellowFactory(status=FellowStatus.PRE_ARRIVAL, arrival_date=None).id

    def mark(status: FellowStatus, **fields: Any) -> Callable[[], Any]:
        return lambda: fellows.update_fellow(db.session.get_one(Fellow, fellow_id), by=None, status=status,
                                             **fields)

    withdrawn, in_japan_now = while_held(app, mark(FellowStatus.WITHDRAWN),
                                         in_own_context(app, mark(FellowStatus.IN_JAPAN,
                                                                  arrival_date=date(2026, 9, 1))))
    assert isinstance(withdrawn, Fellow)
    assert in_japan_now.lower() == "refused: a fellow whose status is “withdrawn” cannot be marked “in japan”."
    db.session.expire_all()
    assert db.session.get_one(Fellow, fellow_id).status is FellowStatus.WITHDRAWN


def test_two_positions_added_at_once_leave_one_current_position(app, app_ctx):
    fellow_id = FellowFactory(status=FellowStatus.COMPLETED).id

    def add(position: str) -> Callable[[], Any]:
        career = survey.CareerInput(position=position, organisation="Ministry of Environment",
                                    sector=Sector.GOVERNMENT, country="KE", environmental=True,
                                    leadership_level=LeadershipLevel.MANAGER)
        return lambda: survey.add_career_entry(db.session.get_one(Fellow, fellow_id), career)

    while_held(app, add("Director of water"), in_own_context(app, add("Head of climate unit")))
    current = db.session.scalars(select(CareerEntry.position).where(CareerEntry.fellow_id == fellow_id,
                                                                    CareerEntry.end_date.is_(None))).all()
    assert current == ["Head of climate unit"]


def test_an_application_screened_while_it_is_being_withdrawn_stays_withdrawn(app, app_ctx):
    from fellowship.eligibility.services import screen_application

    application_id = make_complete(submitted_application(status=ApplicationStatus.SUBMITTED)).id

    _withdrawn, screened = while_held(app, lambda: services.withdraw_application(application_of(application_id)),
                                      in_own_context(app, lambda: screen_application(application_id)))
    assert screened == "refused: Only submitted applications are screened for eligibility."
    db.session.expire_all()
    assert application_of(application_id).status is ApplicationStatus.WITHDRAWN
