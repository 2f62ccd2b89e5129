"""Languages: which locale each request is shown in (Flask-Babel), and programme texts kept per language.

The locale of a request: the account's saved language, else the `locale` cookie set by the language switcher,
else the browser's Accept-Language, else English. Catalogs live in fellowship/translations/<lang>/LC_MESSAGES.
"""

from __future__ import annotations

from flask import Flask, request
from flask_login import current_user

from fellowship.extensions import babel

#: The interface languages, English (the source) first.
LOCALES: tuple[str, ...] = ("en", "fr", "pt", "es", "ar", "ja")
#: Languages written right to left: their pages get dir="rtl".
RIGHT_TO_LEFT = frozenset({"ar"})
DEFAULT_LOCALE = "en"
LOCALE_COOKIE = "locale"


def select_locale() -> str:
    """The language this request is shown in (see the module docstring for the order)."""
    saved = getattr(current_user, "locale", None) if current_user else None
    if saved in LOCALES:
        return str(saved)
    cookie = request.cookies.get(LOCALE_COOKIE)
    if cookie in LOCALES:
        return str(cookie)
    return request.accept_languages.best_match(LOCALES) or DEFAULT_LOCALE


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    babel.init_app(app, locale_selector=select_locale)
