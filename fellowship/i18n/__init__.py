"""Languages: which locale each request is shown in (Flask-Babel), and programme texts kept per language.

The locale of a request: the account's saved language, else the `locale` cookie set by the language switcher,
else the browser's Accept-Language, else English. Catalogs live in fellowship/translations/<lang>/LC_MESSAGES.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, g, has_request_context, request
from flask_babel import Domain, get_translations
from flask_login import current_user
from jinja2 import pass_context
from jinja2.runtime import Context
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


def current_translations() -> Any:
    """What flask_babel.get_translations() returns, found in one look at the context instead of about five.

    Flask-Babel resolves `g` through its proxy three times and names the locale (str(Locale)) on every message a
    template translates: 17 µs a message, 11 ms of the ranking page's 666. The catalog is kept on the context with
    the Locale object it is for, so force_locale (emails) or refresh(), which put another Locale there, miss it.
    """
    try:
        state = g._get_current_object().__dict__.get("_flask_babel")
    except RuntimeError:  # no app context: Flask-Babel's own answer (its NullTranslations)
        return get_translations()
    locale = getattr(state, "babel_locale", None)
    if locale is None:  # the context's first message: Flask-Babel selects the locale
        return get_translations()
    domain = getattr(state, "babel_domain", None)
    kept = getattr(state, "fellowship_translations", None)
    if kept is not None and kept[0] is locale and kept[1] is domain:
        return kept[2]
    translations = get_translations()
    state.fellowship_translations = (locale, domain, translations)
    return translations


class _KeptDomain(Domain):
    """Flask-Babel's domain, its catalog found through current_translations (Python's gettext, lazy labels)."""

    def get_translations(self) -> Any:
        state = _babel_state()
        kept = getattr(state, "fellowship_translations", None) if state is not None else None
        if kept is not None and kept[0] is getattr(state, "babel_locale", None) and kept[1] is self:
            return kept[2]
        translations = super().get_translations()
        locale = getattr(state, "babel_locale", None) if state is not None else None
        if locale is not None:
            state.fellowship_translations = (locale, self, translations)
        return translations


def _babel_state() -> Any:
    try:
        return g._get_current_object().__dict__.get("_flask_babel")
    except RuntimeError:
        return None


@pass_context
def _template_gettext(context: Context, string: str, /, **variables: Any) -> str:
    text = current_translations().ugettext(string)
    if context.eval_ctx.autoescape:
        text = Markup(text)  # noqa: S704 - a message from our own catalog, as Jinja itself marks it
    if not variables and "%" not in text:
        # What `text % {}` gives, without Markup's escaping helper: most of a page's messages are plain labels
        # ("Region", "Status"), and formatting each cost the ranking page ~6 % of its time (in-process 7.7 -> 7.2 ms).
        return text
    return text % variables


@pass_context
def _template_ngettext(context: Context, singular: str, plural: str, num: int, /, **variables: Any) -> str:
    variables.setdefault("num", num)
    text = current_translations().ungettext(singular, plural, num)
    if context.eval_ctx.autoescape:
        text = Markup(text)  # noqa: S704 - a message from our own catalog, as Jinja itself marks it
    return text % variables


def init_app(app: Flask) -> None:
    from fellowship.i18n.messages import shown_message
    from fellowship.i18n.texts import Texts, current_locale

    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    babel.init_app(app, locale_selector=select_locale)
    if not isinstance(babel.__dict__.get("domain_instance"), _KeptDomain):  # one extension object, many apps
        babel.domain_instance = _KeptDomain(domain=app.config.get("BABEL_DOMAIN", "messages"))
    # Templates translate through current_translations (Flask-Babel installs the same callables, slower).
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: current_translations().ugettext(s),
        ngettext=lambda s, p, n: current_translations().ungettext(s, p, n),
        pgettext=lambda c, s: current_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: current_translations().unpgettext(c, s, p, n),
        newstyle=True)
    # {{ _("…") }} and {{ gettext/ngettext(…) }} straight to the catalog: Jinja's own wrappers pass every message
    # through Context.call twice (the `_` alias resolves `gettext`, which calls the callable above), half of a
    # template message's cost; these do exactly what they do otherwise (Markup when autoescaping, always `% vars`).
    app.jinja_env.globals.update(_=_template_gettext, gettext=_template_gettext, ngettext=_template_ngettext)

    # {{ application.reference|bdi }}: data isolated from the sentence around it, so a reference number, an email or a
    # Latin name keeps its order inside Arabic text (and an Arabic name inside English).
    app.add_template_filter(lambda value: Markup("<bdi>%s</bdi>") % ("" if value is None else value), "bdi")

    # {{ programme_note|localized }}: a {lang: text} stored by staff, in the language being rendered (English else).
    app.add_template_filter(lambda value: Texts.of(value).get_for(current_locale()) if value else "", "localized")

    # {{ application.locale|language_name }}: "French" for an English reader, "français" for a French one.
    app.add_template_filter(language_name, "language_name")
    # {{ row.reason_message|stored_message(row.reason) }}: a sentence the system stored, in the reader's language.
    app.add_template_filter(shown_message, "stored_message")

    @app.context_processor
    def language_globals() -> dict[str, Any]:
        from fellowship.i18n.forms import LanguageForm

        locale = current_locale() or DEFAULT_LOCALE
        return {"page_locale": locale, "page_direction": text_direction(locale), "language_names": LANGUAGE_NAMES,
                "language_form": LanguageForm}
