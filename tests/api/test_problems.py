"""Every error under /api/v1 is RFC 9457 problem details; the site keeps its HTML error pages; the OpenAPI
document and the docs page describe every operation and its problems."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.exceptions import InternalServerError

from fellowship.api.errors import problem_for_http_exception
from fellowship.auth.models import Role
from tests.api.helpers import bearer, token_for
from tests.factories import UserFactory

PROBLEM_MEMBERS = {"type", "title", "status", "detail", "instance"}


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status
    assert response.content_type == "application/problem+json"
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json
    assert set(body) >= PROBLEM_MEMBERS and body["status"] == status and body["type"] == "about:blank"
    return body


def test_unknown_route_and_wrong_method_under_the_api_are_problems(app_ctx: Flask, client: FlaskClient):
    body = assert_problem(client.get("/api/v1/no-such-thing"), 404)
    assert body["instance"] == "/api/v1/no-such-thing" and body["title"] == "Not Found"
    wrong = client.delete("/api/v1/calls")
    assert_problem(wrong, 405)
    assert "GET" in wrong.headers["Allow"]


def test_site_pages_keep_their_html_errors(app_ctx: Flask, client: FlaskClient):
    response = client.get("/no-such-page")
    assert response.status_code == 404 and response.content_type.startswith("text/html")


def test_invalid_parameters_are_422_with_the_field_errors(app_ctx: Flask, client: FlaskClient):
    body = assert_problem(client.get("/api/v1/calls?limit=1000&status=nonsense"), 422)
    assert set(body["errors"]["query"]) == {"limit", "status"}


def test_invalid_cursor_is_400(app_ctx: Flask, client: FlaskClient):
    for cursor in ("!!!", "e30", "WyJ4Il0"):  # not base64; {}; ["x"]
        body = assert_problem(client.get(f"/api/v1/calls?cursor={cursor}"), 400)
        assert "cursor" in body["detail"]
    secret = token_for(UserFactory(email="staff@example.org", roles=[Role.STAFF]), "applications:read")
    assert_problem(client.get("/api/v1/applications?cursor=bad", headers=bearer(secret)), 400)


def test_internal_error_is_a_problem_without_internals(app_ctx: Flask):
    with app_ctx.test_request_context("/api/v1/calls"):
        response = problem_for_http_exception(InternalServerError())
    assert response.status_code == 500 and response.content_type == "application/problem+json"
    assert response.json == {"type": "about:blank", "title": "Internal Server Error", "status": 500,
                             "detail": "An unexpected error occurred. It has been logged.",
                             "instance": "/api/v1/calls"}


def test_openapi_document_describes_security_and_problem_responses(app_ctx: Flask, client: FlaskClient):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.json
    assert spec["openapi"].startswith("3.") and spec["info"]["title"] and spec["servers"]
    scheme = spec["components"]["securitySchemes"]["bearerAuth"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    applications = spec["paths"]["/api/v1/applications"]["get"]
    assert applications["security"] == [{"bearerAuth": []}]
    assert {"200", "400", "401", "403", "422", "429", "default"} <= set(applications["responses"])
    unauthorized = spec["components"]["responses"]["UNAUTHORIZED"]
    assert "application/problem+json" in unauthorized["content"] and "WWW-Authenticate" in unauthorized["headers"]
    assert "Retry-After" in spec["components"]["responses"]["TOO_MANY_REQUESTS"]["headers"]
    assert "security" not in spec["paths"]["/api/v1/calls"]["get"]  # public


def test_docs_page_lists_operations_parameters_responses_and_schemas(app_ctx: Flask, client: FlaskClient):
    response = client.get("/api/v1/docs")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and response.content_type.startswith("text/html")
    for text in ("<code translate=\"no\">GET /api/v1/applications</code>",
                 "<code translate=\"no\">GET /api/v1/calls/{call_id}</code>",
                 "<code translate=\"no\">cursor</code>", "application/problem+json", 'id="schema-ApplicationDetail"',
                 'id="schema-Problem"', "Public: no token needed.", "Needs a token with the scope"):
        assert text in html, text
    assert "<script" not in html


def test_docs_page_types_say_list_of_and_or_null_in_the_readers_language(app_ctx: Flask, client: FlaskClient):
    """'list of' and ', or null' are interface words, in the reader's language; the type names around them are the
    API's own and stay as they are (translate="no"), a list of a named schema linking to it."""
    html = client.get("/api/v1/docs").get_data(as_text=True)
    assert '<a href="#schema-Call">list of <span translate="no">Call</span></a>' in html
    assert '<td data-label="Type"><span translate="no">integer</span>, or null</td>' in html
    french = client.get("/api/v1/docs", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert '>liste de <span translate="no">Call</span></a>' in french
    assert '<span translate="no">integer</span>, ou null</td>' in french
    assert ">list of <span" not in french and "</span>, or null<" not in french
