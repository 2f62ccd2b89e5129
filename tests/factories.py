"""factory_boy factories for the models tests need."""

from __future__ import annotations

import factory
from factory.alchemy import SQLAlchemyModelFactory

from fellowship.auth.models import Role, User, UserRole
from fellowship.auth.passwords import hash_password
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
