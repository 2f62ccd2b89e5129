"""Kinds whose answer is a number or a date, each with an optional range."""

from __future__ import annotations

import math
from datetime import date
from typing import TYPE_CHECKING, Any

from babel.dates import format_date
from babel.numbers import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import StringField
from wtforms.validators import Length
from wtforms.widgets import DateInput, NumberInput

from fellowship.models import utcnow
from fellowship.questions.kinds.base import AnswerError, ExportColumn, Kind, QuestionKind
from fellowship.questions.kinds.common import babel_locale, field_kwargs

if TYPE_CHECKING:
    from wtforms.fields.core import UnboundField

    from fellowship.questions.models import Question


def _number(value: Any) -> int | float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        text = value.strip()  # no thousands separators: "12,5" means 12.5 to half the world
        try:
            number = float(text)
        except ValueError:
            return None
        if not math.isfinite(number):
            return None
        return int(number) if number.is_integer() and "." not in text and "e" not in text.lower() else number
    return None


class Number(Kind):
    kind = QuestionKind.NUMBER
    description = _l("A number, optionally whole and within a range")

    def validate(self, question: Question, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        number = _number(value)
        config = question.config or {}
        if number is None:
            raise AnswerError(_("Enter a number, like 12 or 3.5."))
        if config.get("integer"):
            if isinstance(number, float) and not number.is_integer():
                raise AnswerError(_("Enter a whole number."))
            number = int(number)
        low, high = config.get("min"), config.get("max")
        if (low is not None and number < low) or (high is not None and number > high):
            if low is not None and high is not None:
                raise AnswerError(_("Enter a number from %(min)s to %(max)s.", min=low, max=high))
            if low is not None:
                raise AnswerError(_("Enter a number of at least %(min)s.", min=low))
            raise AnswerError(_("Enter a number of at most %(max)s.", max=high))
        return number

    def form_field(self, question: Question, locale: str | None) -> UnboundField:
        config = question.config or {}
        attrs: dict[str, Any] = {"step": "1" if config.get("integer") else "any"}
        for name in ("min", "max"):
            if config.get(name) is not None:
                attrs[name] = config[name]
        # A text field with a number widget: the typed text reaches validate() as it was, so "12,5" gets a clear
        # message beside the field (WTForms' own number fields would drop it and say "Not a valid integer value").
        return StringField(widget=NumberInput(), validators=[Length(max=40)], **field_kwargs(question, locale, **attrs))

    def display(self, question: Question, value: Any, locale: str | None) -> str:
        if self.is_empty(value):
            return ""
        # No grouping: numbers asked here are often years or codes ("2018", not "2,018").
        return format_decimal(value, locale=babel_locale(locale), group_separator=False)

    def export_columns(self, question: Question, locale: str | None) -> list[ExportColumn]:
        return [(question.key, lambda value: None if self.is_empty(value) else value)]

    def check_config(self, config: dict[str, Any]) -> dict[str, Any]:
        config = dict(config)
        for name in ("min", "max"):
            if config.get(name) is not None:
                number = _number(config[name])
                if number is None:
                    raise AnswerError(_("The limits are numbers."))
                config[name] = number  # kept as numbers: answers are compared with them
        low, high = config.get("min"), config.get("max")
        if low is not None and high is not None and low > high:
            raise AnswerError(_("The minimum is more than the maximum."))
        return dict(config)


def _years_ago(years: int, today: date) -> date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February in a year that has none
        return today.replace(year=today.year - years, day=28)


def _iso_date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str) and len(value.strip()) == 10:
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


class Date(Kind):
    kind = QuestionKind.DATE
    description = _l("A date, optionally within a range")

    def bounds(self, question: Question, today: date | None = None) -> tuple[date | None, date | None]:
        """The earliest and latest accepted dates (fixed dates, or years before today: a birth date's age range)."""
        config = question.config or {}
        today = today or utcnow().date()
        low = _iso_date(config.get("min")) if config.get("min") else None
        high = _iso_date(config.get("max")) if config.get("max") else None
        if config.get("max_years_ago") is not None:
            low = _years_ago(int(config["max_years_ago"]), today)
        if config.get("min_years_ago") is not None:
            high = _years_ago(int(config["min_years_ago"]), today)
        return low, high

    def validate(self, question: Question, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        day = _iso_date(value)
        if day is None:
            raise AnswerError(_("Enter a date as year-month-day, like 1995-04-23."))
        low, high = self.bounds(question)
        if low and high and not low <= day <= high:
            raise AnswerError(_("Enter a date from %(min)s to %(max)s.", min=low.isoformat(), max=high.isoformat()))
        if low and day < low:
            raise AnswerError(_("Enter a date on or after %(min)s.", min=low.isoformat()))
        if high and day > high:
            raise AnswerError(_("Enter a date on or before %(max)s.", max=high.isoformat()))
        return day.isoformat()

    def form_field(self, question: Question, locale: str | None) -> UnboundField:
        low, high = self.bounds(question)
        attrs: dict[str, Any] = {name: bound.isoformat() for name, bound in (("min", low), ("max", high)) if bound}
        return StringField(widget=DateInput(), validators=[Length(max=40)], **field_kwargs(question, locale, **attrs))

    def display(self, question: Question, value: Any, locale: str | None) -> str:
        day = _iso_date(value)
        return format_date(day, format="long", locale=babel_locale(locale)) if day else ""

    def export_columns(self, question: Question, locale: str | None) -> list[ExportColumn]:
        return [(question.key, lambda value: value or None)]

    def check_config(self, config: dict[str, Any]) -> dict[str, Any]:
        for name in ("min", "max"):
            if config.get(name) and _iso_date(config[name]) is None:
                raise AnswerError(_("Give the date limits as year-month-day."))
        for name in ("min_years_ago", "max_years_ago"):
            limit = config.get(name)
            if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 0):
                raise AnswerError(_("Years ago are whole numbers of 0 or more."))
        return dict(config)
