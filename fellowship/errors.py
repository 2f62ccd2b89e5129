"""Domain errors and the error pages; pages never show internals."""

from __future__ import annotations

import logging

from flask import Flask, current_app, has_request_context, render_template, request
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from werkzeug.exceptions import HTTPException

from fellowship.extensions import db

log = logging.getLogger(__name__)


class DomainError(Exception):
    """A rule of the domain was broken; the message is written for the user."""


class FieldError(DomainError):
    """A domain rule broken by one form field's value: views show the message beside that field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


MESSAGES = {
    400: (_l("Bad request"), _l("The form could not be accepted. If it was open for a long time, reload the page "
                                "and try again.")),
    403: (_l("Not allowed"), _l("Your account does not have access to this page.")),
    404: (_l("Not found"), _l("There is nothing here, or you do not have access to it.")),
    405: (_l("Not allowed"), _l("This page cannot be used that way.")),
    413: (_l("Too large"), _l("The upload is larger than the limit. Choose a smaller file.")),
    429: (_l("Too many attempts"), _l("Too many attempts in a short time. Please wait a minute and try again.")),
    500: (_l("Something went wrong"), _l("An unexpected error occurred. It has been logged; please try again later.")),
    503: (_l("Temporarily unavailable"), _l("The service is briefly unavailable. Please try again in a moment.")),
}


#: Seconds a client (or a load balancer) is asked to wait before trying again after a 503.
RETRY_AFTER_SECONDS = 30


def render_error(code: int, *, database_available: bool = True, message: str | None = None) -> tuple[str, int]:
    """The error page for `code` (with `message` instead of the code's usual one, if given). Its navigation normally
    names the logged-in user and their menus, which are loaded from the database; when the database is unavailable
    (known, or found while rendering) the page is rendered with a navigation that needs no user, so the error page
    itself never fails."""
    title, usual = MESSAGES.get(code, MESSAGES[500])
    message = message or usual
    if database_available:
        try:
            return render_template("errors/error.html", code=code, title=str(title), message=str(message)), code
        except SQLAlchemyError as exc:
            log.warning("error page %s shown without the account menu: the database is unavailable (%s)",
                        code, exc.__class__.__name__)
            _rollback()
    # Rendered from the template alone: the context processors are skipped, because Flask-Login's loads the
    # user from the database (on every render, whether the page shows the user or not).
    template = current_app.jinja_env.get_template("errors/error.html")
    # In the language of the cookie or the browser: choosing it from the account would query the database.
    from fellowship.i18n import LANGUAGE_NAMES, text_direction
    from fellowship.i18n.forms import LanguageForm

    locale = _locale_without_account()
    with force_locale(locale):
        return template.render(code=code, title=str(title), message=str(message), bare_navigation=True,
                               page_locale=locale, page_direction=text_direction(locale),
                               language_names=LANGUAGE_NAMES, language_form=LanguageForm), code


def _locale_without_account() -> str:
    """The request's language from its cookie or Accept-Language alone (the account's needs the database)."""
    from fellowship.i18n import DEFAULT_LOCALE, LOCALE_COOKIE, LOCALES

    if not has_request_context():
        return DEFAULT_LOCALE
    cookie = request.cookies.get(LOCALE_COOKIE)
    return cookie if cookie in LOCALES else (request.accept_languages.best_match(LOCALES) or DEFAULT_LOCALE)


def _rollback() -> None:
    """Give the failed transaction back; the connection may be gone already, which is what we are reporting."""
    try:
        db.session.rollback()
    except SQLAlchemyError:
        log.debug("rollback after a database error failed too", exc_info=True)


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if exc.code is None or exc.code < 400:
            return exc
        body, code = render_error(exc.code)
        response = app.make_response((body, code))
        if exc.code == 405 and exc.valid_methods:  # type: ignore[attr-defined]
            response.headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[attr-defined]
        return response

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def database_unavailable(exc: DBAPIError):
        # An expected outage: one line naming the cause (psycopg's message), no traceback per request.
        reason = " ".join(str(exc.orig or exc).split())[:300]
        log.error("database unavailable: %s: %s", exc.__class__.__name__, reason)
        _rollback()
        response = app.make_response(render_error(503, database_available=False))
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
