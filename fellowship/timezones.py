"""Times are stored in UTC; staff enter them in the programme's zone; users read them in theirs too.

Shown in the reader's language by Babel's locale data ("14 mars 2027, 17:00 (heure : Japon)"), the zone always
named; English keeps the programme's house style ("14 March 2027, 17:00 JST (Asia/Tokyo)").
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from functools import cache, lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel import Locale
from babel.dates import format_date, format_skeleton, format_time, get_datetime_format, get_timezone_location
from flask_babel import gettext as _
from flask_babel import ngettext

from fellowship.i18n.texts import current_locale


@cache
def zone_names() -> list[str]:
    """IANA zone names users can choose from, sorted, without legacy aliases."""
    return sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/", "US/")))


def is_valid_zone(name: str | None) -> bool:
    if not name or not isinstance(name, str):
        return False
    return _is_zone(name)


@lru_cache(maxsize=1024)
def _is_zone(name: str) -> bool:
    """Kept per name: every time shown on a page asks, two or three times (a list row's date included)."""
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


def _locale(locale: str | None) -> str:
    return locale or current_locale() or "en"


# Babel's Locale objects, zone names and date-time patterns are cached per language: parsing a locale name on every
# call made a date in Japanese ten times slower to format than in English (66 µs against 6; `make bench` compares
# the same pages in en, ja and ar).
@cache
def babel_locale(locale: str) -> Locale:
    return Locale.parse(locale)


@cache
def _zone_label(zone: str, locale: str) -> str:
    return "UTC" if zone == "UTC" else str(get_timezone_location(ZoneInfo(zone), locale=babel_locale(locale)))


def zone_label(zone: str, locale: str | None = None) -> str:
    """The zone's name in the reader's language, e.g. 'heure : Japon', '日本時間'; 'UTC' for UTC."""
    return _zone_label(zone, _locale(locale))


@cache
def _date_time_pattern(locale: str) -> str:
    """How the language joins a date and a time ("{1}, {0}"), CLDR's quoted literals unquoted ("{1} 'à' {0}")."""
    pattern = str(get_datetime_format("long", locale=babel_locale(locale)))
    return re.sub(r"'([^']*)'", lambda m: m.group(1) or "'", pattern)


# A page lists many times in a few days, and Babel formats each one by walking its pattern in Python (~40 µs a time
# in ja or ar: a reviewer's 50 assignments made the page 1.16× slower in Arabic than in English, `make bench`). The
# long date is kept per (day, language), the short time per (hour, minute, language): CLDR's short time pattern holds
# the hour, the minutes and the day period only, never seconds or a zone.
@lru_cache(maxsize=8192)
def _long_date(day: date, locale: str) -> str:
    return str(format_date(day, "long", locale=babel_locale(locale)))


@lru_cache(maxsize=16384)
def _short_time(hour: int, minute: int, locale: str) -> str:
    return str(format_time(time(hour, minute), "short", locale=babel_locale(locale)))


def format_in_zone(moment: datetime | None, zone: str | None, fmt: str = TIME_FORMAT,
                   locale: str | None = None) -> str:
    """E.g. '31 March 2027, 17:00 JST (Asia/Tokyo)', '31 mars 2027, 17:00 (heure : Japon)': a time always names its
    zone; a date alone (a format without hours or minutes, e.g. '%Y-%m-%d') is the day in that zone and names none.

    In English the house style (strftime `fmt`); in another language Babel's long date and short time for it,
    unless `fmt` is all digits (an ISO date stays one)."""
    if moment is None:
        return ""
    zone = str(zone) if zone and is_valid_zone(zone) else "UTC"
    if moment.tzinfo is None:  # stored times are UTC; a naive one (SQLite, old rows) is read as UTC
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(ZoneInfo(zone))
    with_time = any(directive in fmt for directive in _TIME_DIRECTIVES)
    locale = _locale(locale)
    if locale.split("_")[0] == "en" or not any(word in fmt for word in ("%B", "%b", "%A", "%a")):
        if not with_time:
            return local.strftime(fmt)
        if locale.split("_")[0] == "en":
            return f"{local.strftime(fmt)} {local.tzname()} ({zone})"
        return f"{local.strftime(fmt)} ({zone_label(zone, locale)})"
    day = _long_date(local.date(), locale)
    if not with_time:
        return day
    when = _date_time_pattern(locale).replace("{1}", day).replace("{0}", _short_time(local.hour, local.minute, locale))
    return f"{when} ({zone_label(zone, locale)})"


def format_day(day: date | None, locale: str | None = None) -> str:
    """A calendar day in the reader's language ('14 March 2027', '14 mars 2027', '2027年3月14日')."""
    if day is None:
        return ""
    locale = _locale(locale)
    if locale.split("_")[0] == "en":
        return f"{day.day} {day.strftime('%B %Y')}"
    return _long_date(day, locale)


def format_month(day: date | None, locale: str | None = None) -> str:
    """A month of a year in the reader's language ('March 2027', 'mars 2027', '2027年3月'): Babel's pattern for it."""
    if day is None:
        return ""
    locale = _locale(locale)
    if locale.split("_")[0] == "en":
        return day.strftime("%B %Y")
    return str(format_skeleton("yMMMM", day, locale=babel_locale(locale)))


def viewer_zone(viewer: Any, programme_zone: str | None) -> str:
    """The zone a person reads times in: the one they chose in their profile, else the programme's, else UTC.

    `viewer` is a user (or None, or an anonymous visitor: anything without a valid `time_zone`)."""
    own = getattr(viewer, "time_zone", None)
    if is_valid_zone(own):
        return str(own)
    return programme_zone if programme_zone and is_valid_zone(programme_zone) else "UTC"


def format_for_viewer(moment: datetime | None, viewer: Any, programme_zone: str | None,
                      fmt: str = TIME_FORMAT) -> str:
    """The one way a time is shown to someone, on a page or in an email: in `viewer_zone` and the viewer's language
    (saved on their account, else the page's), the zone named.

    E.g. '31 March 2027, 17:00 JST (Asia/Tokyo)' for a viewer without a zone of their own in a Tokyo programme."""
    saved = getattr(viewer, "locale", None)
    return format_in_zone(moment, viewer_zone(viewer, programme_zone), fmt, saved if isinstance(saved, str) else None)


def time_left(moment: datetime, now: datetime | None = None) -> str:
    """'3 days left', '5 hours left', 'less than an hour left', or 'passed' (in the reader's language)."""
    now = now or datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    seconds = (moment - now).total_seconds()
    if seconds <= 0:
        return _("passed")
    days, hours = int(seconds // 86400), int(seconds // 3600)
    if days >= 2:
        return ngettext("%(num)d day left", "%(num)d days left", days)
    if hours >= 1:
        return ngettext("%(num)d hour left", "%(num)d hours left", hours)
    return _("less than an hour left")
