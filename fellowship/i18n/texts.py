"""Programme content with a text per language: `{"en": "...", "fr": "..."}` in one JSON column.

Staff write English first; a missing translation falls back to English, so a new language never needs a migration.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.types import TypeDecorator

SOURCE_LOCALE = "en"


class Texts(dict[str, str]):
    """One text in several languages."""

    @classmethod
    def of(cls, value: str | dict[str, str] | None) -> Texts:
        if isinstance(value, dict):
            return cls({lang: text for lang, text in value.items() if text})
        return cls({SOURCE_LOCALE: value} if value else {})

    def get_for(self, locale: str | None) -> str:
        """The text in `locale`, else in English, else in any language there is."""
        if locale and self.get(locale):
            return self[locale]
        return self.get(SOURCE_LOCALE) or next(iter(self.values()), "")

    def missing(self, locales: tuple[str, ...]) -> list[str]:
        """The languages of `locales` without a text of their own (English excluded: it is the source)."""
        return [lang for lang in locales if lang != SOURCE_LOCALE and not self.get(lang)] if self else []

    def __str__(self) -> str:
        from flask_babel import get_locale

        locale = get_locale()
        return self.get_for(str(locale) if locale else None)


class TextsType(TypeDecorator[Texts]):
    """A JSON column holding a `Texts`."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> dict[str, str] | None:
        return None if value is None else dict(Texts.of(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> Texts | None:
        return None if value is None else Texts.of(value)


class LocalizedText(str):
    """A text read in the current language that keeps its other languages: an email queued by someone reading
    Japanese (`call_title=call.title`) is still written in its recipient's language (notifications.queue_email)."""

    texts: Texts

    def __new__(cls, value: str, texts: Texts) -> LocalizedText:
        text = super().__new__(cls, value)
        text.texts = texts
        return text

    def in_locale(self, locale: str | None) -> str:
        return self.texts.get_for(locale)


def current_locale() -> str | None:
    """The locale pages and emails are rendered in right now (the request's, or one forced for an email)."""
    from flask_babel import get_locale

    locale = get_locale()
    return str(locale) if locale else None


def translated(source: str, translations: str, name: str) -> hybrid_property[str]:
    """A text whose English (the source) sits in column attribute `source` and its translations in `translations`.

    On an instance it reads in the current locale, falling back to English; in a query it is the English column; set
    it and the English changes. So the many places that show `call.title` show it in the reader's language unchanged."""

    def getter(self: Any) -> str:
        english = getattr(self, source) or ""
        texts = getattr(self, translations)
        if not texts:  # the common case, kept cheap: no translation, English everywhere
            return str(english)
        every = Texts.of({**texts, SOURCE_LOCALE: english})
        return LocalizedText(every.get_for(current_locale()), every)

    def setter(self: Any, value: str) -> None:
        setattr(self, source, value)

    def expression(cls: Any) -> Any:
        # Labelled with the text's own name, so rows of `select(Call.title)` still have `.title`.
        return getattr(cls, source).label(name)

    return hybrid_property(getter, setter, expr=expression)


def texts_of(english: str | None, translations: dict[str, str] | None) -> Texts:
    """A source text and its translations as one `Texts` (for the Translations page and the missing list)."""
    return Texts.of({**(translations or {}), SOURCE_LOCALE: english or ""})
