"""The alumni directory: alumni who opted in, found by country and environmental field; no contact details."""

from __future__ import annotations

from functools import cache
from typing import Any

from flask import g
from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import joinedload

from fellowship.alumni.outcomes import current_career
from fellowship.applications.models import Application, EnvironmentalField
from fellowship.auth.models import Role, User
from fellowship.calls.models import Call
from fellowship.extensions import db
from fellowship.fellows.models import Fellow, FellowStatus


def is_alumnus(user_id: int) -> bool:
    """Whether the account belongs to a fellow who completed the fellowship."""
    return db.session.scalar(select(Fellow.id).where(Fellow.user_id == user_id,
                                                     Fellow.status == FellowStatus.COMPLETED).limit(1)) is not None


@cache
def _account_statement() -> Any:
    """The user with their roles and whether they are an alumnus, by the bound `user_id`. Built once per process:
    every logged-in request runs it, and building and keying it again cost ~0.3 ms each time (make bench-surge)."""
    alumnus = (select(Fellow.id).where(Fellow.user_id == User.id, Fellow.status == FellowStatus.COMPLETED)
               .exists())
    return select(User, alumnus).where(User.id == bindparam("user_id")).options(joinedload(User.roles))


def load_account(user_id: int) -> User | None:
    """The logged-in user with their roles and whether they are an alumnus, in one query: every page's nav asks
    for both. The flag is remembered for the request, as `is_alumnus_this_request` would."""
    row = db.session.execute(_account_statement(), {"user_id": user_id}).unique().first()
    if row is None:
        return None
    user, is_alumnus_flag = row
    g.setdefault("_alumni_directory_access", {})[user.id] = bool(is_alumnus_flag)
    return user


def is_alumnus_this_request(user: User) -> bool:
    """is_alumnus, memoised per request: the nav asks on every page."""
    if not user.is_authenticated:
        return False
    cache: dict[int, bool] = g.setdefault("_alumni_directory_access", {})
    if user.id not in cache:
        cache[user.id] = is_alumnus(user.id)
    return cache[user.id]


def may_see_directory(user: User) -> bool:
    """Staff, admins and alumni see the directory."""
    if user.is_authenticated and user.has_role(Role.STAFF, Role.ADMIN):
        return True
    return is_alumnus_this_request(user)


def directory_query(country: str | None = None, field: EnvironmentalField | None = None) -> Any:
    """Opted-in alumni, by name: name, cohort, current position and organisation, and nothing else.

    `country` matches the current career's country or the home country; `field` the application's field.
    """
    career = current_career()
    stmt = (select(Fellow.id, Application.given_name, Application.family_name, Call.title.label("cohort"),
                   Call.year, career.c.position, career.c.organisation)
            .join(Application, Application.id == Fellow.application_id)
            .join(Call, Call.id == Fellow.call_id)
            .outerjoin(career, career.c.fellow_id == Fellow.id)
            .where(Fellow.status == FellowStatus.COMPLETED, Fellow.directory_opt_in.is_(True))
            .order_by(Application.family_name, Application.given_name, Fellow.id))
    if country:
        stmt = stmt.where(or_(career.c.country == country, Fellow.home_country == country))
    if field is not None:
        stmt = stmt.where(Application.environmental_field == field)
    return stmt
