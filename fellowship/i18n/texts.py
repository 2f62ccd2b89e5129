"""Programme content with a text per language: `{"en": "...", "fr": "..."}` in one JSON column.

Staff write English first; a missing translation falls back to English, so a new language never needs a migration.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON
from sqlalchemy.engine import Dialect
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
