"""Small helpers the kinds share: a text in a locale, the common field arguments, a Babel locale."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from babel import Locale, UnknownLocaleError

from fellowship.i18n.texts import Texts

if TYPE_CHECKING:
    from fellowship.questions.models import Question


def text_in(texts: Texts | dict[str, str] | None, locale: str | None) -> str:
    """A stored text in the locale, falling back to English (empty for none)."""
    return Texts.of(texts).get_for(locale) if texts else ""


# Kept per language: Locale.parse reads and builds the locale's data on every call, and the kinds call this per
# answer shown or exported (a 5,000-row export formatting a date or a country per row spent most of its time here).
@lru_cache(maxsize=64)
def babel_locale(locale: str | None) -> Locale:
    """The Babel locale for formatting dates, country and language names (English when unknown)."""
    try:
        return Locale.parse(locale or "en")
    except (ValueError, UnknownLocaleError):
        return Locale.parse("en")


def field_kwargs(question: Question, locale: str | None, *, aria_required: bool = True,
                 **render_kw: Any) -> dict[str, Any]:
    """Label, help (as description) and aria-required for a question's field.

    No `required` validator or attribute: a draft saves whatever is well-formed, so a browser must not refuse to
    send a form with an empty required question; what is still needed is listed when the respondent submits.
    Radio buttons, checkboxes and file inputs do not take aria-required (`aria_required=False`): the template marks
    a radio group's fieldset instead."""
    if question.required and aria_required:
        render_kw["aria-required"] = "true"
    return {"label": text_in(question.label, locale), "description": text_in(question.help_text, locale),
            "render_kw": render_kw or None}


def as_text(value: Any) -> str | None:
    """A value a text kind can keep (strings, stripped), or None when it is not a string."""
    if isinstance(value, str):
        return value.strip()
    return None


def text_now(texts: Texts | dict[str, str] | None) -> str:
    """A stored text in the language of the page or email being rendered (for messages built in services)."""
    from flask_babel import get_locale

    locale = get_locale()
    return text_in(texts, str(locale) if locale else None)
