"""Programme and call operations for staff, and what applicants may see of calls."""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError

from fellowship.audit.services import record
from fellowship.calls.models import Call, CallStatus, Programme, RegionalQuota, RubricCriterion
from fellowship.errors import DomainError, FieldError
from fellowship.extensions import db
from fellowship.geo import developing_countries, is_country
from fellowship.locks import lock_row
from fellowship.models import utcnow
from fellowship.questions import services as questions
from fellowship.questions.models import Questionnaire
from fellowship.signals import call_created
from fellowship.timezones import is_valid_zone, local_to_utc
from fellowship.words import N_

log = logging.getLogger(__name__)

#: The editable starting point for a call's eligible nationalities.
PRESET_REGIONS = ("Africa", "Asia")


def developing_preset() -> list[str]:
    """Developing countries (OECD DAC list) in Africa and Asia (UN M49)."""
    return developing_countries(PRESET_REGIONS)


_PROGRAMME_NAME_TAKEN = N_("A programme named “%(name)s” already exists. Choose another name.")


def save_programme(programme: Programme | None, *, name: str, description: str, time_zone: str,
                   followup_months: list[int]) -> Programme:
    """Create or update a programme; its name is its own (another programme's name is refused, whatever its case)."""
    if not is_valid_zone(time_zone):
        raise FieldError("time_zone", _("Unknown time zone."))
    if not followup_months or any(m <= 0 for m in followup_months):
        raise FieldError("followup_months", _("Follow-up months must be positive whole numbers."))
    name = name.strip()
    taken = select(Programme.id).where(func.lower(Programme.name) == name.lower())
    if programme is not None:
        taken = taken.where(Programme.id != programme.id)
    if db.session.scalar(taken.limit(1)) is not None:
        raise FieldError("name", _(_PROGRAMME_NAME_TAKEN, name=name))
    created = programme is None
    try:
        with db.session.begin_nested():  # the unique constraint decides between two saves at once
            if programme is None:
                programme = Programme()
                db.session.add(programme)
            programme.name, programme.description, programme.time_zone = name, description, time_zone
            programme.followup_months = sorted(set(followup_months))
    except IntegrityError:
        raise FieldError("name", _(_PROGRAMME_NAME_TAKEN, name=name)) from None
    record("calls.programme_created" if created else "calls.programme_updated", programme, name=programme.name)
    return programme


def save_call(call: Call | None, programme: Programme, data: dict[str, Any],
              quotas: dict[str, int], criteria: list[dict[str, Any]]) -> Call:
    """Create or update a call; times in `data` are naive wall-clock times in the programme's zone."""
    unknown = [c for c in data["eligible_countries"] if not is_country(c)]
    if unknown:
        raise DomainError(_("Unknown country codes: %(codes)s.", codes=", ".join(unknown)))
    opens_at = local_to_utc(data.pop("opens_at_local"), programme.time_zone)
    closes_at = local_to_utc(data.pop("closes_at_local"), programme.time_zone)
    if closes_at <= opens_at:
        raise DomainError(_("The deadline must be after the opening time."))
    if sum(quotas.values()) > 100:
        raise DomainError(_("The regional minimums cannot add up to more than 100%."))
    sharing = call_numbered_as(data["reference_prefix"], data["year"], other_than=call.id if call else None)
    if sharing is not None:
        raise FieldError("reference_prefix", _(
            "“%(call)s” already numbers its applications %(prefix)s-%(year)s-…; choose another prefix, so that each "
            "call's reference numbers are its own.", call=sharing.title, prefix=data["reference_prefix"],
            year=data["year"]))
    created = call is None
    if call is None:
        call = Call(programme_id=programme.id)
        db.session.add(call)
    elif call.status not in (CallStatus.DRAFT, CallStatus.OPEN) and closes_at != call.closes_at:
        raise DomainError(_("The deadline of a closed call cannot change."))
    call.programme_id = programme.id
    call.opens_at, call.closes_at = opens_at, closes_at
    for key, value in data.items():
        setattr(call, key, value)
    _set_quotas(call, quotas)
    _set_criteria(call, criteria)
    db.session.flush()
    if created:
        call_created.send(call)  # the applications area attaches the default application form
    lock_form_if_opened(call)
    record("calls.call_created" if created else "calls.call_updated", call, title=call.title,
           status=call.status.value)
    log.info("call %s saved by staff (%s)", call.id, call.status.value)
    return call


def lock_form_if_opened(call: Call) -> None:
    """Once a call has opened (any status past draft), its application form's structure is locked: from then on
    only wording changes, so no answer an applicant gives loses its question (issue 14, versions)."""
    if call.status is CallStatus.DRAFT or call.questionnaire_id is None:
        return
    questionnaire = db.session.get(Questionnaire, call.questionnaire_id)
    if questionnaire is not None and questionnaire.structure_locked_at is None:
        questions.lock_structure(questionnaire)
        log.info("call %s opened: the structure of its form (questionnaire %s) is locked", call.id, questionnaire.id)


def _set_quotas(call: Call, quotas: dict[str, int]) -> None:
    """Update the call's quotas in place: replacing the rows would insert a region before deleting it (unique)."""
    wanted = {region: share for region, share in quotas.items() if share}
    for quota in list(call.quotas):
        if quota.region in wanted:
            quota.min_share_percent = wanted.pop(quota.region)
        else:
            call.quotas.remove(quota)
    for region, share in sorted(wanted.items()):
        call.quotas.append(RegionalQuota(region=region, min_share_percent=share))


def _set_criteria(call: Call, criteria: list[dict[str, Any]]) -> None:
    """Update the rubric in place, criterion by position: a criterion's scores hang on its row (and go with it)."""
    existing = list(call.criteria)
    for position, spec in enumerate(criteria):
        criterion = existing[position] if position < len(existing) else RubricCriterion(position=position)
        criterion.name, criterion.weight = spec["name"], Decimal(str(spec["weight"] or 1))
        criterion.description, criterion.level_descriptions = spec.get("description") or "", spec.get("levels") or {}
        if position >= len(existing):
            call.criteria.append(criterion)
    for criterion in existing[len(criteria):]:
        call.criteria.remove(criterion)


def call_numbered_as(prefix: str, year: int, *, other_than: int | None = None) -> Call | None:
    """Another call whose reference numbers read PREFIX-YEAR-…, if any."""
    query = select(Call).where(Call.reference_prefix == prefix, Call.year == year)
    if other_than is not None:
        query = query.where(Call.id != other_than)
    return db.session.scalar(query.order_by(Call.id).limit(1))


def staff_calls_query() -> Select[*tuple[Any, ...]]:
    """Calls newest first, with their programme's name, for the staff list."""
    return (select(Call.id, Call.title, Call.year, Call.status, Call.opens_at, Call.closes_at, Call.places,
                   Programme.name.label("programme_name"), Programme.time_zone)
            .join(Programme).order_by(Call.closes_at.desc()))


def open_calls(now: datetime | None = None) -> list[Call]:
    """Calls accepting applications now (by the server's clock)."""
    now = now or utcnow()
    return list(db.session.scalars(
        select(Call).where(Call.status == CallStatus.OPEN, Call.opens_at <= now, Call.closes_at > now)
        .order_by(Call.closes_at)))


def is_accepting(call: Call, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return call.status is CallStatus.OPEN and call.opens_at <= now < call.closes_at


def parse_levels(text: str | None) -> dict[str, str]:
    """Five lines of level descriptions as {"1": ..., "5": ...}."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return {str(i + 1): line for i, line in enumerate(lines[:5])}


def call_count_by_status() -> dict[str, int]:
    rows = db.session.execute(select(Call.status, func.count()).group_by(Call.status)).all()
    return {status.value: count for status, count in rows}


def lock_call(call_id: int, *, shared: bool = False) -> None:
    """Hold one call's row until the transaction ends (fellowship.locks): what the caller reads next cannot
    change under it. Callers that lock several things take the call's row first.

    `shared`: for work that many requests do at once and that only needs the call to stay as it is (submits at the
    deadline): they exclude the exclusive holders (the screening, decisions) but not each other."""
    lock_row(Call, call_id, shared=shared)


# --- The staff home page ------------------------------------------------------------------------------------------

#: The stages of a call in the order of the journey, as the staff home page lists them (archived calls are left out).
ACTIVE_STAGES = (CallStatus.DRAFT, CallStatus.OPEN, CallStatus.CLOSED, CallStatus.REVIEWING, CallStatus.DECIDED)


def next_deadlines(now: datetime | None = None, limit: int = 5) -> list[dict[str, Any]]:
    """The next deadlines staff watch: calls closing, and reviews due, soonest first (one query each)."""
    now = now or utcnow()
    closing = db.session.execute(
        select(Call.id, Call.title, Call.closes_at.label("at"), Programme.time_zone).join(Programme)
        .where(Call.status == CallStatus.OPEN, Call.closes_at > now).order_by(Call.closes_at).limit(limit))
    reviews = db.session.execute(
        select(Call.id, Call.title, Call.review_due_at.label("at"), Programme.time_zone).join(Programme)
        .where(Call.status.in_([CallStatus.CLOSED, CallStatus.REVIEWING]), Call.review_due_at > now)
        .order_by(Call.review_due_at).limit(limit))
    found = [{"kind": "closes", "call_id": r.id, "title": r.title, "at": r.at, "time_zone": r.time_zone}
             for r in closing]
    found += [{"kind": "reviews due", "call_id": r.id, "title": r.title, "at": r.at, "time_zone": r.time_zone}
              for r in reviews]
    return sorted(found, key=lambda d: d["at"])[:limit]


def active_calls() -> list[Any]:
    """Calls not archived, in the order of their stage then deadline (id, title, status, closes_at, zone): the staff
    home page lists each with the page where its current work is done; one query."""
    stage = {status: index for index, status in enumerate(ACTIVE_STAGES)}
    rows = db.session.execute(
        select(Call.id, Call.title, Call.status, Call.closes_at, Programme.time_zone).join(Programme)
        .where(Call.status.in_(ACTIVE_STAGES)).order_by(Call.closes_at.desc()))
    return sorted(rows, key=lambda r: stage[r.status])
