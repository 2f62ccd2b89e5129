"""The JSON API (/api/v1): an adapter like the views, over the same services; no service imports it.

flask-smorest and marshmallow describe every operation, so the OpenAPI 3 document at /api/v1/openapi.json is made
from the code that answers (schemas, parameters, every response, problems included). Personal access tokens
authenticate it (fellowship.api.auth), never the session cookie, so it needs no CSRF token. Its errors are RFC 9457
problem details (fellowship.api.errors); the rest of the site keeps its HTML error pages.
"""

from __future__ import annotations

import importlib
from http import HTTPStatus
from typing import Any

from flask import Flask
from flask_smorest import Api
from flask_smorest.utils import prepare_response

from fellowship.api.schemas import PROBLEM_CONTENT_TYPE, ProblemSchema

PREFIX = "/api/v1"
#: Resource modules, each with a flask_smorest Blueprint `blp` whose url_prefix starts with PREFIX.
RESOURCE_MODULES = ("calls", "applications", "reviews", "rankings", "fellows", "alumni")


#: Headers that come with some problems, documented on their responses.
PROBLEM_HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"description": "The Bearer challenge (RFC 6750), naming the error for a token that "
                                              "was sent but does not do.", "schema": {"type": "string"}}},
    429: {"Retry-After": {"description": "Seconds to wait before the token's budget allows another request.",
                          "schema": {"type": "integer"}}},
    503: {"Retry-After": {"description": "Seconds to wait before trying again.", "schema": {"type": "integer"}}},
}


class FellowshipApi(Api):
    """flask-smorest's Api with our error handling: its own handler would answer every error of the whole site in
    JSON, so it registers none (fellowship.api.errors answers errors under /api/ only), and its documented error
    responses are problem details."""

    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self) -> None:
        """Errors under /api/ are answered by fellowship.api.errors.register_problem_handlers."""

    def _register_responses(self) -> None:
        # As flask-smorest's, but every error response is application/problem+json.
        for status in HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            content_type = self.DEFAULT_RESPONSE_CONTENT_TYPE
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
                content_type = PROBLEM_CONTENT_TYPE
            if status in PROBLEM_HEADERS:
                response["headers"] = PROBLEM_HEADERS[status]
            prepare_response(response, self.spec, content_type)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "A problem (RFC 9457)", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_CONTENT_TYPE)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


def init_api(app: Flask) -> FellowshipApi:
    """Register the API's blueprints under /api/v1, its OpenAPI document, its docs page and its error handling."""
    from fellowship.api import auth, docs, errors
    from fellowship.extensions import csrf

    app.config.setdefault("API_TITLE", "Fellowship API")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", PREFIX)
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault("API_SPEC_OPTIONS", {
        "info": {"description": "Read access to a fellowship programme's calls, applications, reviews, rankings, "
                                "fellows and alumni. Authenticate with a personal access token from your profile: "
                                "`Authorization: Bearer fsp_...`. Errors are RFC 9457 problem details.",
                 "license": {"name": "Proprietary"}},
        "servers": [{"url": "/", "description": "This server"}],
        "security": [],
    })
    app.config.setdefault("API_RATE_LIMIT", "600 per minute")
    api = FellowshipApi(app)
    app.extensions["fellowship.api"] = api
    api.spec.components.security_scheme("bearerAuth", {
        "type": "http", "scheme": "bearer",
        "description": "A personal access token (fsp_...) created on your profile page.",
    })
    for name in RESOURCE_MODULES:
        blueprint = importlib.import_module(f"fellowship.api.{name}").blp
        csrf.exempt(blueprint)
        api.register_blueprint(blueprint)
    csrf.exempt(docs.bp)
    app.register_blueprint(docs.bp)
    auth.init_app(app)
    errors.register_problem_handlers(app)
    return api
