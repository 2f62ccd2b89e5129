"""Shared factories for fellows and alumni (each engineer appends; never rewrite)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import factory
from factory.alchemy import SQLAlchemyModelFactory

from fellowship.applications.models import Application, ApplicationStatus
from fellowship.calls.models import Call
from fellowship.extensions import db
from fellowship.fellows.models import Fellow, FellowStatus
from tests.factories import submitted_application


def accepted_application(call: Call | None = None, **fields: Any) -> Application:
    """A submitted application whose offer was accepted; without `call`, in a new call of its own."""
    return submitted_application(call, status=ApplicationStatus.OFFER_ACCEPTED, **fields)


class FellowFactory(SQLAlchemyModelFactory):
    """A fellow in Japan, with an application whose offer was accepted (pass `application=` to reuse one)."""

    class Meta:
        model = Fellow
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "commit"

    application = factory.LazyFunction(accepted_application)
    status = FellowStatus.IN_JAPAN
    host_institution = "Kyoto University"
    supervisor = "Prof. Tanaka"
    study_programme = "Master of Environmental Management"
    arrival_date = date(2024, 9, 20)
    planned_return_date = date(2026, 9, 15)

    @classmethod
    def _create(cls, model_class: type[Fellow], *args: Any, **kwargs: Any) -> Fellow:
        application = kwargs.pop("application")
        kwargs.setdefault("application_id", application.id)
        kwargs.setdefault("user_id", application.applicant_id)
        kwargs.setdefault("call_id", application.call_id)
        kwargs.setdefault("home_country", application.nationality)
        kwargs.setdefault("home_region", application.region)
        return super()._create(model_class, *args, **kwargs)


def make_alumnus(call: Call | None = None, returned_on: date = date(2025, 9, 15), **kw: Any) -> Fellow:
    """A completed fellow (an alumnus) who returned home on `returned_on`, with its accepted application.

    Application fields (nationality, region, given_name, ...) go in `application_fields`; the rest are Fellow
    fields. No follow-ups are scheduled: call fellowship.alumni.followups.schedule_follow_ups(fellow) if needed.
    """
    application_fields: dict[str, Any] = kw.pop("application_fields", {})
    application = accepted_application(call, **application_fields)
    kw.setdefault("arrival_date", returned_on - timedelta(days=720))
    kw.setdefault("planned_return_date", returned_on)
    kw.setdefault("status", FellowStatus.COMPLETED)
    kw.setdefault("actual_return_date", returned_on)
    return FellowFactory(application=application, **kw)


# --- outcomes, exports, directory (Engineer H) ------------------------------------------------------------------

def add_follow_up(fellow: Fellow, months: int, status: Any, **kw: Any) -> Any:
    """A follow-up of `fellow` in `status`, due `months` after return (set directly: the fixture is hand-made)."""
    from fellowship.alumni.followups import add_months
    from fellowship.alumni.models import FollowUp

    due = add_months(fellow.actual_return_date or date(2025, 9, 15), months)
    follow_up = FollowUp(fellow_id=fellow.id, months_after_return=months, due_on=due, status=status, **kw)
    db.session.add(follow_up)
    db.session.commit()
    return follow_up


def add_response(follow_up: Any, residence: str, *, submitted_at: Any = None, work: str | None = None) -> Any:
    """An answer to `follow_up` giving the country of residence (and of work, the same unless given)."""
    from fellowship.alumni.models import FollowUpResponse
    from fellowship.models import utcnow

    response = FollowUpResponse(follow_up_id=follow_up.id, fellow_id=follow_up.fellow_id,
                                country_of_residence=residence, country_of_work=work or residence,
                                submitted_at=submitted_at or utcnow())
    db.session.add(response)
    db.session.commit()
    return response


def add_career(fellow: Fellow, *, environmental: bool = True, level: Any = None, country: str | None = None,
               ended: date | None = None, **kw: Any) -> Any:
    """A career entry; current (no end date) unless `ended` is given."""
    from fellowship.alumni.models import CareerEntry, LeadershipLevel
    from fellowship.applications.models import Sector

    entry = CareerEntry(fellow_id=fellow.id, position=kw.pop("position", "Programme officer"),
                        organisation=kw.pop("organisation", "Ministry of Environment"),
                        sector=kw.pop("sector", Sector.GOVERNMENT), country=country or fellow.home_country,
                        environmental=environmental, leadership_level=level or LeadershipLevel.STAFF,
                        end_date=ended, **kw)
    db.session.add(entry)
    db.session.commit()
    return entry
