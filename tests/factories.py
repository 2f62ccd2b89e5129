"""factory_boy factories for the models tests need."""

from __future__ import annotations

from datetime import date, timedelta

import factory
from factory.alchemy import SQLAlchemyModelFactory

from fellowship.applications.models import (
    Application,
    ApplicationStatus,
    EnvironmentalField,
    Gender,
    LanguageLevel,
    Sector,
)
from fellowship.applications.services import take_reference_number
from fellowship.auth.models import Role, User, UserRole
from fellowship.auth.passwords import hash_password
from fellowship.calls.models import Call, CallStatus, DegreeLevel, Programme
from fellowship.extensions import db
from fellowship.models import utcnow

PASSWORD = "correct-horse-battery-staple"  # noqa: S105 - test accounts only
_PASSWORD_HASH = hash_password(PASSWORD)  # argon2 is slow on purpose; hash once for all test users


class UserFactory(SQLAlchemyModelFactory):
    class Meta:
        model = User
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "commit"

    email = factory.Sequence(lambda n: f"user{n}@example.org")
    full_name = factory.Faker("name")
    password_hash = _PASSWORD_HASH
    email_confirmed_at = factory.LazyFunction(utcnow)

    @factory.post_generation
    def roles(self, create: bool, extracted: list[Role] | None, **kwargs: object) -> None:
        for role in extracted or [Role.APPLICANT]:
            self.roles.append(UserRole(role=role))
        if create:
            db.session.commit()


class ProgrammeFactory(SQLAlchemyModelFactory):
    class Meta:
        model = Programme
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "commit"

    name = factory.Sequence(lambda n: f"Environmental Leaders Fellowship {n}")
    description = "Study environmental fields in Japan, then lead at home."
    time_zone = "Asia/Tokyo"


class CallFactory(SQLAlchemyModelFactory):
    """An open call closing in 30 days, eligible to developing countries of Africa and Asia."""

    class Meta:
        model = Call
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "commit"

    programme = factory.SubFactory(ProgrammeFactory)
    title = factory.Sequence(lambda n: f"Call {2027 + n}")
    year = 2027
    description = "Yearly intake."
    opens_at = factory.LazyFunction(lambda: utcnow() - timedelta(days=10))
    closes_at = factory.LazyFunction(lambda: utcnow() + timedelta(days=30))
    status = CallStatus.OPEN
    places = 10
    max_age = 35
    min_degree = DegreeLevel.BACHELOR
    eligible_countries = factory.LazyFunction(lambda: ["KE", "NG", "ET", "GH", "VN", "ID", "BD", "NP", "PH", "TZ"])
    required_documents = factory.LazyFunction(lambda: ["cv", "transcript", "passport"])
    references_required = 1
    reference_prefix = "ELF"


def complete_sections() -> dict[str, object]:
    """Every section of the form filled in, valid."""
    return {
        "given_name": "Amani", "family_name": "Njeri", "search_name": "amani njeri",
        "date_of_birth": date(1996, 4, 12), "gender": Gender.FEMALE, "nationality": "KE",
        "country_of_residence": "KE", "region": "Africa", "phone": "+254 700 000000",
        "highest_degree": DegreeLevel.MASTER, "degree_subject": "Environmental science",
        "institution": "University of Nairobi", "graduation_year": 2021,
        "current_position": "Water officer", "employer": "County government", "sector": Sector.GOVERNMENT,
        "years_experience": 4,
        "environmental_field": EnvironmentalField.WATER, "field_description": "Urban water supply " * 10,
        "preferred_host": "Kyoto University", "study_plan": "I will study water systems. " * 30,
        "leadership_plan": "I will lead a county programme. " * 30,
        "motivation": "I want to protect rivers in my country. " * 30,
        "english_level": LanguageLevel.C1, "japanese_level": LanguageLevel.A1, "language_test": "IELTS 7.5",
    }


class ApplicationFactory(SQLAlchemyModelFactory):
    """A draft with every section complete (documents and referees are added separately)."""

    class Meta:
        model = Application
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "commit"

    call = factory.SubFactory(CallFactory)
    applicant = factory.SubFactory(UserFactory)
    status = ApplicationStatus.DRAFT

    @classmethod
    def _adjust_kwargs(cls, **kwargs: object) -> dict[str, object]:
        return {**complete_sections(), **kwargs}


def submitted_application(call: Call | None = None, **kwargs: object) -> Application:
    """A submitted application with a unique reference, passed screening (under review)."""
    call = call or CallFactory()
    reference = take_reference_number(call.reference_prefix, call.year)
    db.session.commit()
    return ApplicationFactory(call=call, status=kwargs.pop("status", ApplicationStatus.UNDER_REVIEW),
                              reference=reference,
                              submitted_at=utcnow(), eligible=True, **kwargs)
