"""Programme and call operations for staff, and what applicants may see of calls."""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select

from fellowship.audit.services import record
from fellowship.calls.models import Call, CallStatus, Programme, RegionalQuota, RubricCriterion
from fellowship.errors import DomainError
from fellowship.extensions import db
from fellowship.geo import developing_countries, is_country
from fellowship.models import utcnow
from fellowship.timezones import is_valid_zone, local_to_utc

log = logging.getLogger(__name__)

#: The editable starting point for a call's eligible nationalities.
PRESET_REGIONS = ("Africa", "Asia")


def developing_preset() -> list[str]:
    """Developing countries (OECD DAC list) in Africa and Asia (UN M49)."""
    return developing_countries(PRESET_REGIONS)


def save_programme(programme: Programme | None, *, name: str, description: str, time_zone: str,
                   followup_months: list[int]) -> Programme:
    """Create or update a programme."""
    if not is_valid_zone(time_zone):
        raise DomainError("Unknown time zone.")
    if not followup_months or any(m <= 0 for m in followup_months):
        raise DomainError("Follow-up months must be positive whole numbers.")
    created = programme is None
    if programme is None:
        programme = Programme()
        db.session.add(programme)
    programme.name, programme.description, programme.time_zone = name.strip(), description, time_zone
    programme.followup_months = sorted(set(followup_months))
    db.session.flush()
    record("calls.programme_created" if created else "calls.programme_updated", programme, name=programme.name)
    return programme


def save_call(call: Call | None, programme: Programme, data: dict[str, Any],
              quotas: dict[str, int], criteria: list[dict[str, Any]]) -> Call:
    """Create or update a call; times in `data` are naive wall-clock times in the programme's zone."""
    unknown = [c for c in data["eligible_countries"] if not is_country(c)]
    if unknown:
        raise DomainError(f"Unknown country codes: {', '.join(unknown)}.")
    opens_at = local_to_utc(data.pop("opens_at_local"), programme.time_zone)
    closes_at = local_to_utc(data.pop("closes_at_local"), programme.time_zone)
    if closes_at <= opens_at:
        raise DomainError("The deadline must be after the opening time.")
    if sum(quotas.values()) > 100:
        raise DomainError("The regional minimums cannot add up to more than 100%.")
    created = call is None
    if call is None:
        call = Call(programme_id=programme.id)
        db.session.add(call)
    elif call.status not in (CallStatus.DRAFT, CallStatus.OPEN) and closes_at != call.closes_at:
        raise DomainError("The deadline of a closed call cannot change.")
    call.programme_id = programme.id
    call.opens_at, call.closes_at = opens_at, closes_at
    for key, value in data.items():
        setattr(call, key, value)
    call.quotas = [RegionalQuota(region=region, min_share_percent=share) for region, share in sorted(quotas.items())
                   if share]
    call.criteria = [
        RubricCriterion(position=i, name=c["name"], weight=Decimal(str(c["weight"] or 1)),
                        description=c.get("description") or "", level_descriptions=c.get("levels") or {})
        for i, c in enumerate(criteria)
    ]
    db.session.flush()
    record("calls.call_created" if created else "calls.call_updated", call, title=call.title,
           status=call.status.value)
    log.info("call %s saved by staff (%s)", call.id, call.status.value)
    return call


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
