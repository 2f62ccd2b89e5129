"""Languages: which locale each request is shown in (Flask-Babel), and programme texts kept per language.

The locale of a request: the account's saved language, else the `locale` cookie set by the language switcher,
else the browser's Accept-Language, else English. Catalogs live in fellowship/translations/<lang>/LC_MESSAGES.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, has_request_context, request
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy.exc import SQLAlchemyError

from fellowship.extensions import babel

bp = Blueprint("i18n", __name__)

#: The interface languages, English (the source) first.
LOCALES: tuple[str, ...] = ("en", "fr", "pt", "es", "ar", "ja")
#: Languages written right to left: their pages get dir="rtl".
RIGHT_TO_LEFT = frozenset({"ar"})
DEFAULT_LOCALE = "en"
LOCALE_COOKIE = "locale"
#: A year: the switcher's choice outlives the session, like the saved choice of an account.
LOCALE_COOKIE_MAX_AGE = 365 * 24 * 3600
#: Each language named in itself, so a reader finds theirs whatever language the page is in.
LANGUAGE_NAMES: dict[str, str] = {
    "en": "English", "fr": "Français", "pt": "Português", "es": "Español", "ar": "العربية", "ja": "日本語",
}


def text_direction(locale: str | None) -> str:
    """"rtl" for a right-to-left language, else "ltr" (the `dir` of <html>)."""
    return "rtl" if (locale or "").split("_")[0] in RIGHT_TO_LEFT else "ltr"


def language_choices() -> list[tuple[str, str]]:
    """(code, name in itself) for each interface language, for selects."""
    return [(code, LANGUAGE_NAMES[code]) for code in LOCALES]


def select_locale() -> str:
    """The language this request is shown in (see the module docstring for the order)."""
    if not has_request_context():  # a worker renders an email: its locale is forced (fellowship.notifications)
        return DEFAULT_LOCALE
    try:
        saved = getattr(current_user, "locale", None) if current_user else None
    except SQLAlchemyError:  # the database is down: the error page (fellowship.errors) still renders, account-less
        saved = None
    if saved in LOCALES:
        return str(saved)
    cookie = request.cookies.get(LOCALE_COOKIE)
    if cookie in LOCALES:
        return str(cookie)
    return request.accept_languages.best_match(LOCALES) or DEFAULT_LOCALE


def language_name(code: str | None) -> str:
    """The language `code` named in the language being rendered (Babel's CLDR names); "" for none."""
    from babel import Locale, UnknownLocaleError

    from fellowship.i18n.texts import current_locale

    if not code:
        return ""
    try:
        return Locale.parse(code).get_display_name(current_locale() or DEFAULT_LOCALE) or code
    except (ValueError, UnknownLocaleError):
        return code


def init_app(app: Flask) -> None:
    from fellowship.i18n.texts import Texts, current_locale

    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    babel.init_app(app, locale_selector=select_locale)

    # {{ application.reference|bdi }}: data isolated from the sentence around it, so a reference number, an email or a
    # Latin name keeps its order inside Arabic text (and an Arabic name inside English).
    app.add_template_filter(lambda value: Markup("<bdi>%s</bdi>") % ("" if value is None else value), "bdi")

    # {{ programme_note|localized }}: a {lang: text} stored by staff, in the language being rendered (English else).
    app.add_template_filter(lambda value: Texts.of(value).get_for(current_locale()) if value else "", "localized")

    # {{ application.locale|language_name }}: "French" for an English reader, "français" for a French one.
    app.add_template_filter(language_name, "language_name")

    @app.context_processor
    def language_globals() -> dict[str, Any]:
        from fellowship.i18n.forms import LanguageForm

        locale = current_locale() or DEFAULT_LOCALE
        return {"page_locale": locale, "page_direction": text_direction(locale), "language_names": LANGUAGE_NAMES,
                "language_form": LanguageForm}
