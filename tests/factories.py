"""factory_boy factories for the models tests need."""

from __future__ import annotations

import enum
from datetime import date, timedelta
from typing import Any

import factory
from factory.alchemy import SQLAlchemyModelFactory

from fellowship.applications import answers as application_answers
from fellowship.applications.form_template import DEFAULT_FORM
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
from fellowship.auth.passwords import current_hasher, hash_password
from fellowship.calls.models import Call, CallStatus, DegreeLevel, Programme
from fellowship.extensions import db
from fellowship.models import utcnow

PASSWORD = "correct-horse-battery-staple"  # noqa: S105 - test accounts only
_password_hashes: dict[tuple[object, ...], str] = {}


def password_hash() -> str:
    """PASSWORD's hash by the hasher in use (the suite's cheaper one, see conftest), made once for all test users."""
    hasher = current_hasher()
    key = (hasher.type, hasher.time_cost, hasher.memory_cost, hasher.parallelism, hasher.hash_len, hasher.salt_len)
    if key not in _password_hashes:
        _password_hashes[key] = hash_password(PASSWORD)
    return _password_hashes[key]


class UserFactory(SQLAlchemyModelFactory):
    class Meta:
        model = User
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "commit"

    email = factory.Sequence(lambda n: f"user{n}@example.org")
    full_name = factory.Faker("name")
    password_hash = factory.LazyFunction(password_hash)
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

    @factory.post_generation
    def application_form(self, create: bool, extracted: object, **kwargs: object) -> None:
        """Every call has its application form: the default one, as a call created by staff gets."""
        if create:
            application_answers.application_form(self)
            db.session.commit()


#: Every question key of the default application form: ApplicationFactory takes these as answers.
ANSWER_KEYS = frozenset(q["key"] for section in DEFAULT_FORM for q in section["questions"])


def complete_sections() -> dict[str, object]:
    """Every section of the form filled in, valid (question key -> answer as a form gives it)."""
    return {
        "given_name": "Amani", "family_name": "Njeri",
        "date_of_birth": date(1996, 4, 12), "gender": Gender.FEMALE, "nationality": "KE",
        "country_of_residence": "KE", "phone": "+254 700 000000",
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


def fill_answers(application: Application, values: dict[str, Any]) -> None:
    """Answer the application's form through the engine, section by section (key -> answer; None clears it)."""
    form = application_answers.form_of(application)
    for section in form.sections:
        given = {q.key: _plain(values[q.key]) for q in section.questions if q.key in values}
        if given:
            application_answers.save_answers(application, section, given)


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def answer_of(application_id: int, key: str) -> Any:
    """The stored answer to one question of an application, read fresh from the database."""
    db.session.expire_all()
    return application_answers.answers_of(db.session.get_one(Application, application_id)).get(key)


class ApplicationFactory(SQLAlchemyModelFactory):
    """A draft with every section complete (documents and referees are added separately).

    Keyword arguments named like a question of the default form are answers, saved through the engine (the profile
    columns follow from them); `motivation=None` leaves that question unanswered.
    """

    class Meta:
        model = Application
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "commit"

    call = factory.SubFactory(CallFactory)
    applicant = factory.SubFactory(UserFactory)
    status = ApplicationStatus.DRAFT

    @classmethod
    def _create(cls, model_class: type[Application], *args: Any, **kwargs: Any) -> Application:
        given = {key: kwargs.pop(key) for key in list(kwargs) if key in ANSWER_KEYS}
        derived = {key: kwargs.pop(key) for key in ("search_name", "region") if key in kwargs}
        application = model_class(*args, **kwargs)
        db.session.add(application)
        db.session.flush()
        fill_answers(application, {**complete_sections(), **given})
        for key, value in derived.items():  # a test may set these apart from the nationality or names
            setattr(application, key, value)
        db.session.commit()
        return application


def submitted_application(call: Call | None = None, **kwargs: object) -> Application:
    """A submitted application with a unique reference, passed screening (under review)."""
    call = call or CallFactory()
    reference = take_reference_number(call.reference_prefix, call.year)
    db.session.commit()
    return ApplicationFactory(call=call, status=kwargs.pop("status", ApplicationStatus.UNDER_REVIEW),
                              reference=reference,
                              submitted_at=utcnow(), eligible=True, **kwargs)
