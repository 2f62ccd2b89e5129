"""Times are stored in UTC; staff enter them in the programme's zone; users read them in theirs too."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
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


def format_in_zone(moment: datetime | None, zone: str | None, fmt: str = "%d %B %Y, %H:%M") -> str:
    """E.g. '31 March 2027, 17:00 JST (Asia/Tokyo)'."""
    if moment is None:
        return ""
    zone = zone if is_valid_zone(zone) else "UTC"
    local = moment.astimezone(ZoneInfo(zone))  # type: ignore[arg-type]
    return f"{local.strftime(fmt)} {local.tzname()} ({zone})"
