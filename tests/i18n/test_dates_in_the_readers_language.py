"""Dates and times by Babel in the reader's language and zone, the zone always named."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from flask_babel import force_locale

from fellowship.i18n import LOCALES
from fellowship.timezones import format_day, format_for_viewer, format_in_zone, time_left, zone_label

MOMENT = datetime(2027, 3, 14, 8, 0, tzinfo=UTC)  # 17:00 in Tokyo


def test_a_deadline_in_french_reads_in_french_with_the_zone_named(app_ctx):
    text = format_in_zone(MOMENT, "Asia/Tokyo", locale="fr")
    assert text.startswith("14 mars 2027") and "17:00" in text
    assert text.endswith("(heure : Japon)")


def test_english_keeps_the_house_style(app_ctx):
    assert format_in_zone(MOMENT, "Asia/Tokyo", locale="en") == "14 March 2027, 17:00 JST (Asia/Tokyo)"


def test_every_language_names_the_zone_of_a_time(app_ctx):
    for locale in LOCALES:
        text = format_in_zone(MOMENT, "Africa/Nairobi", locale=locale)
        assert zone_label("Africa/Nairobi", locale) in text or "Africa/Nairobi" in text, (locale, text)
        assert "2027" in text, (locale, text)


def test_a_date_alone_names_no_zone_and_an_iso_date_stays_iso(app_ctx):
    assert format_in_zone(MOMENT, "Asia/Tokyo", "%d %B %Y", locale="ja") == "2027年3月14日"
    assert format_in_zone(MOMENT, "Asia/Tokyo", "%Y-%m-%d", locale="ar") == "2027-03-14"
    assert format_day(date(2027, 3, 14), "pt") == "14 de março de 2027"


def test_the_viewers_saved_language_decides_in_an_email(app_ctx):
    class Reader:
        time_zone = "America/Sao_Paulo"
        locale = "pt"

    with force_locale("en"):  # the person acting reads English; the email's reader, Portuguese
        text = format_for_viewer(MOMENT, Reader(), "Asia/Tokyo")
    assert "de março de 2027" in text and "05:00" in text


def test_time_left_is_counted_in_the_readers_language(app, app_ctx):
    now = MOMENT - timedelta(days=3, hours=1)
    with app.test_request_context(), force_locale("fr"):
        assert time_left(MOMENT, now) == "3 jours restants"
        assert time_left(MOMENT, MOMENT - timedelta(hours=1, minutes=5)) == "1 heure restante"


def test_a_month_of_a_year_reads_in_the_readers_language(app_ctx):
    from fellowship.timezones import format_month

    day = date(2024, 3, 5)
    assert format_month(day, "en") == "March 2024"
    assert format_month(day, "fr") == "mars 2024"
    assert format_month(day, "ja") == "2024年3月"
    assert format_month(day, "pt") == "março de 2024"
