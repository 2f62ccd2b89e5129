"""Times are stored in UTC; staff enter them in the programme's zone; users read them in theirs too."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones


@cache
def zone_names() -> list[str]:
    """IANA zone names users can choose from, sorted, without legacy aliases."""
    return sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/", "US/")))


def is_valid_zone(name: str | None) -> bool:
    if not name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def local_to_utc(naive: datetime, zone: str) -> datetime:
    """A wall-clock time entered in `zone` as an aware UTC datetime."""
    return naive.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


def utc_to_local(moment: datetime, zone: str) -> datetime:
    return moment.astimezone(ZoneInfo(zone))


#: How a time reads everywhere (pages and emails), before the zone's name.
TIME_FORMAT = "%d %B %Y, %H:%M"
_TIME_DIRECTIVES = ("%H", "%I", "%M", "%X", "%c", "%T", "%R")


def format_in_zone(moment: datetime | None, zone: str | None, fmt: str = TIME_FORMAT) -> str:
    """E.g. '31 March 2027, 17:00 JST (Asia/Tokyo)': a time always names its zone; a date alone (a format without
    hours or minutes, e.g. '%Y-%m-%d') is the day in that zone and names none."""
    if moment is None:
        return ""
    zone = zone if is_valid_zone(zone) else "UTC"
    if moment.tzinfo is None:  # stored times are UTC; a naive one (SQLite, old rows) is read as UTC
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(ZoneInfo(zone))  # type: ignore[arg-type]
    if not any(directive in fmt for directive in _TIME_DIRECTIVES):
        return local.strftime(fmt)
    return f"{local.strftime(fmt)} {local.tzname()} ({zone})"


def viewer_zone(viewer: Any, programme_zone: str | None) -> str:
    """The zone a person reads times in: the one they chose in their profile, else the programme's, else UTC.

    `viewer` is a user (or None, or an anonymous visitor: anything without a valid `time_zone`)."""
    own = getattr(viewer, "time_zone", None)
    if is_valid_zone(own):
        return str(own)
    return programme_zone if programme_zone and is_valid_zone(programme_zone) else "UTC"


def format_for_viewer(moment: datetime | None, viewer: Any, programme_zone: str | None,
                      fmt: str = TIME_FORMAT) -> str:
    """The one way a time is shown to someone, on a page or in an email: in `viewer_zone`, the zone named.

    E.g. '31 March 2027, 17:00 JST (Asia/Tokyo)' for a viewer without a zone of their own in a Tokyo programme."""
    return format_in_zone(moment, viewer_zone(viewer, programme_zone), fmt)


def time_left(moment: datetime, now: datetime | None = None) -> str:
    """'3 days left', '5 hours left', 'less than an hour left', or 'passed'."""
    now = now or datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    seconds = (moment - now).total_seconds()
    if seconds <= 0:
        return "passed"
    days, hours = int(seconds // 86400), int(seconds // 3600)
    if days >= 2:
        return f"{days} days left"
    if hours >= 2:
        return f"{hours} hours left"
    return "1 hour left" if hours == 1 else "less than an hour left"
