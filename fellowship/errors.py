"""Domain errors and the error pages; pages never show internals."""

from __future__ import annotations

import logging

from flask import Flask, render_template
from sqlalchemy.exc import DBAPIError, OperationalError
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
    400: ("Bad request", "The form could not be accepted. If it was open for a long time, reload the page "
                         "and try again."),
    403: ("Not allowed", "Your account does not have access to this page."),
    404: ("Not found", "There is nothing here, or you do not have access to it."),
    405: ("Not allowed", "This page cannot be used that way."),
    413: ("Too large", "The upload is larger than the limit. Choose a smaller file."),
    429: ("Too many attempts", "Too many attempts in a short time. Please wait a minute and try again."),
    500: ("Something went wrong", "An unexpected error occurred. It has been logged; please try again later."),
    503: ("Temporarily unavailable", "The service is briefly unavailable. Please try again in a moment."),
}


def render_error(code: int) -> tuple[str, int]:
    title, message = MESSAGES.get(code, MESSAGES[500])
    return render_template("errors/error.html", code=code, title=title, message=message), code


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
    def database_unavailable(exc: DBAPIError):
        log.error("database unavailable: %s", exc.__class__.__name__)
        db.session.rollback()
        return render_error(503)
