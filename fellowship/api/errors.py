"""Every error under /api/ as RFC 9457 problem details (application/problem+json); the site keeps its HTML pages.

The site's handlers (fellowship.errors) are registered first; these wrap them, answering for paths under /api/ and
handing every other request to the site's handler, so unknown routes and wrong methods under /api/v1 (which match
no blueprint, so a blueprint's handler never sees them) get problem details too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from flask import Flask, Response, current_app, json, request
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from fellowship.api.schemas import PROBLEM_CONTENT_TYPE
from fellowship.errors import RETRY_AFTER_SECONDS

log = logging.getLogger(__name__)

API_PATH_PREFIX = "/api/"

#: What each status means for a client of the API (the HTML pages' messages speak to a person at a browser).
DETAILS = {
    400: "The request could not be understood.",
    401: "A valid personal access token is needed: send `Authorization: Bearer <token>`.",
    403: "The token or its account is not allowed to do this.",
    404: "There is nothing here, or the token may not see it.",
    405: "This resource does not answer that method.",
    409: "The request conflicts with the current state of the resource.",
    413: "The request is too large.",
    422: "The request's parameters were not accepted; `errors` says which and why.",
    429: "Too many requests with this token; wait for the time in Retry-After.",
    500: "An unexpected error occurred. It has been logged.",
    503: "The service is briefly unavailable; try again after the time in Retry-After.",
}


def is_api_request() -> bool:
    return request.path.startswith(API_PATH_PREFIX)


def problem_response(status: int, detail: str | None = None, *, headers: dict[str, str] | None = None,
                     **members: Any) -> Response:
    """A problem details response: type about:blank (the status says what kind), title, status, detail,
    instance, and any extension `members` (such as `errors`)."""
    body = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status,
            "detail": detail or DETAILS.get(status, HTTPStatus(status).description), "instance": request.path,
            **members}
    response = current_app.response_class(json.dumps(body), status=status, mimetype=PROBLEM_CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def problem_for_http_exception(exc: HTTPException) -> Response:
    """`exc` (a werkzeug HTTP error, or flask_smorest.abort's with `message`, `errors`/`messages` and `headers`)
    as problem details."""
    status = exc.code or 500
    data = getattr(exc, "data", None) or {}
    members: dict[str, Any] = {}
    errors = data.get("errors", data.get("messages"))
    if errors:
        members["errors"] = errors
    headers = dict(data.get("headers") or {})
    if status == 405 and getattr(exc, "valid_methods", None):
        headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[attr-defined]
    detail = data.get("message")
    if status == 429 and detail is None:
        detail = f"Too many requests with this token (limit: {exc.description})."
    return problem_response(status, detail, headers=headers, **members)


def _api_or_site(site_handler: Callable[[Any], Any] | None,
                 api_handler: Callable[[Any], Response]) -> Callable[[Any], Any]:
    def handle(exc: Any) -> Any:
        if is_api_request():
            return api_handler(exc)
        if site_handler is None:
            return exc if isinstance(exc, HTTPException) else None
        return site_handler(exc)

    return handle


def _database_unavailable(exc: Exception) -> Response:
    from fellowship.errors import _rollback

    log.error("database unavailable (API): %s", exc.__class__.__name__)
    _rollback()
    return problem_response(503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def register_problem_handlers(app: Flask) -> None:
    """Wrap the site's error handlers (registered before, by fellowship.errors) with the API's."""
    site = app.error_handler_spec.get(None, {}).get(None, {})  # the app's own handlers, by exception class
    app.register_error_handler(HTTPException, _api_or_site(site.get(HTTPException), problem_for_http_exception))
    for database_error in (OperationalError, InterfaceError):
        app.register_error_handler(database_error, _api_or_site(site.get(database_error), _database_unavailable))
