"""Bearer personal-access-token authentication for the API, scope and role checks, per-token rate limits, and one
audit entry per use.

The session cookie never authenticates an API request: the request's user is set to anonymous before any view runs
and only a valid token replaces it, so a browser's cookies cannot be ridden across sites (no CSRF exposure) and the
services' `current_user` is the token's owner.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, Response, current_app, g, request
from flask_smorest import Blueprint, abort
from sqlalchemy import or_, update
from sqlalchemy.exc import SQLAlchemyError

from fellowship.api.errors import is_api_request
from fellowship.audit.services import PendingEntry
from fellowship.auth.models import User
from fellowship.auth.tokens import SCOPE_ROLES, PersonalAccessToken, Scope, token_for_secret
from fellowship.extensions import db, limiter, login_manager
from fellowship.models import utcnow

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

REALM = 'Bearer realm="fellowship"'
#: last_used_at is written at most this often per token: a client paging through thousands of rows would otherwise
#: rewrite (and lock) the token's row on every request; the audit log keeps every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)

#: Only used to build documentation (responses, security) for decorated views; never registered.
_documenting = Blueprint("api-auth-documentation", __name__)


def _refuse(status: int, message: str, challenge: str) -> None:
    abort(status, message=message, headers={"WWW-Authenticate": challenge})


def _invalid(message: str) -> None:
    _refuse(401, message, f'{REALM}, error="invalid_token", error_description="{message}"')


def authenticate() -> PersonalAccessToken:
    """The live token of the request's `Authorization: Bearer` header, whose owner becomes the request's user;
    401 (with WWW-Authenticate) for a missing, unknown, expired or revoked token or a disabled account."""
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        _refuse(401, "A personal access token is needed: send `Authorization: Bearer <token>`.", REALM)
    token = token_for_secret(secret)
    if token is None:
        _invalid("The token is not valid.")
    assert token is not None
    if token.revoked_at is not None:
        _invalid("The token was revoked.")
    if token.expires_at <= utcnow():
        _invalid("The token has expired.")
    if not token.user.is_active:
        _invalid("The token's account is disabled.")
    g.api_token = token
    g.api_token_id = token.id
    g.api_user_id = token.user_id
    login_manager._update_request_context_with_user(token.user)
    return token


def current_api_user() -> User:
    """The owner of the request's token (only inside a view decorated with token_required)."""
    return g.api_token.user


def current_api_token() -> PersonalAccessToken:
    return g.api_token


def require_scope(token: PersonalAccessToken, scope: Scope) -> None:
    """403 unless the token holds `scope` and its owner's roles (now, not when it was made) allow it."""
    challenge = f'{REALM}, error="insufficient_scope", scope="{scope.value}"'
    if scope not in token.scope_set:
        _refuse(403, f"The token does not have the scope {scope.value}.", challenge)
    if not token.user.role_set & SCOPE_ROLES[scope]:
        _refuse(403, f"The token's account may not use the scope {scope.value}.", challenge)


def _token_rate_key() -> str:
    return f"api-token:{g.api_token_id}"


def _api_rate_limit() -> str:
    return str(current_app.config["API_RATE_LIMIT"])


#: One budget per token across every operation (API_RATE_LIMIT, e.g. "600 per minute").
_per_token_limit = limiter.shared_limit(_api_rate_limit, scope="api-token", key_func=_token_rate_key)


def token_required(scope: Scope | None = None) -> Callable[[F], F]:
    """The operation needs a live token (401) holding `scope` with an owner whose roles allow it (403), and counts
    against the token's rate limit (429). Put it right under `@blp.route`, so a request is authenticated before its
    parameters are read. Documents the security requirement and the 401/403/429 problems."""

    def decorator(view: F) -> F:
        limited = _per_token_limit(view)

        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            token = authenticate()
            if scope is not None:
                require_scope(token, scope)
            return limited(*args, **kwargs)

        documented = _documenting.alt_response(401, response="UNAUTHORIZED")(wrapped)
        if scope is not None:
            documented = _documenting.alt_response(403, response="FORBIDDEN")(documented)
        documented = _documenting.alt_response(429, response="TOO_MANY_REQUESTS")(documented)
        needs = f"Needs a token with the scope `{scope.value}`." if scope else "Needs a token."
        documented = Blueprint.doc(security=[{"bearerAuth": []}], description=needs)(documented)
        return documented

    return decorator


def _audit_use(response: Response) -> None:
    """One audit entry per request made with a token, and the token's last use (at most once a minute)."""
    token_id, user_id = g.get("api_token_id"), g.get("api_user_id")
    if token_id is None:
        return
    now = utcnow()
    try:
        db.session.execute(
            update(PersonalAccessToken)
            .where(PersonalAccessToken.id == token_id,
                   or_(PersonalAccessToken.last_used_at.is_(None),
                       PersonalAccessToken.last_used_at < now - LAST_USED_RESOLUTION))
            .values(last_used_at=now).execution_options(synchronize_session=False))
        PendingEntry(action="api.request", actor_id=user_id, object_type=PersonalAccessToken.__name__,
                     object_id=token_id, details={"method": request.method, "path": request.full_path.rstrip("?")[:300],
                                                  "status": response.status_code}).write()
        db.session.commit()
    except SQLAlchemyError:
        db.session.rollback()
        log.exception("could not audit an API request with token %s", token_id)


def init_app(app: Flask) -> None:
    @app.before_request
    def api_requests_ignore_the_session() -> None:
        if is_api_request():
            login_manager._update_request_context_with_user()  # anonymous until a token says otherwise

    @app.after_request
    def api_response_headers(response: Response) -> Response:
        if is_api_request():
            response.headers["Cache-Control"] = "no-store"
            _audit_use(response)
        return response
