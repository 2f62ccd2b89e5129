"""Sessions and "remember me" cookies end with the account's session token.

Flask-Login keeps `User.get_id()` ("<id>:<session token>") in the session and, signed, in the remember cookie; the
user loader accepts it only while the account still has that token. Replacing the token (password change or reset,
"log out of all devices", a revoked role) therefore ends every session and remember cookie issued before, on every
device. These helpers handle this browser's side: logging it in again with the new token, and deleting a remember
cookie that no longer logs anyone in.
"""

from __future__ import annotations

from flask import Flask, current_app, g, request, session
from flask_login import login_user, logout_user
from flask_login.config import COOKIE_NAME
from werkzeug.wrappers import Response

from fellowship.auth.models import User


def _remember_cookie_name() -> str:
    return str(current_app.config.get("REMEMBER_COOKIE_NAME", COOKIE_NAME))


def keep_this_browser_logged_in(user: User) -> None:
    """After `user`'s session token changed in this request: log this browser in again with the new token (and a
    new remember cookie if it had one), so the change that ended the other sessions does not end this one."""
    login_user(user, remember=_remember_cookie_name() in request.cookies)


def log_out_this_browser() -> None:
    """End the session of this browser: nothing of it is kept (the view deletes the remember cookie)."""
    logout_user()
    session.clear()


def forget_remember_cookie(response: Response) -> Response:
    """Delete this browser's remember cookie in `response`, with the attributes it was set with. Views that clear
    the session need it: clearing also drops Flask-Login's own note to delete the cookie."""
    config = current_app.config
    response.delete_cookie(_remember_cookie_name(), domain=config.get("REMEMBER_COOKIE_DOMAIN"),
                           path=config.get("REMEMBER_COOKIE_PATH", "/"),
                           secure=bool(config.get("REMEMBER_COOKIE_SECURE")),
                           httponly=bool(config.get("REMEMBER_COOKIE_HTTPONLY", True)),
                           samesite=config.get("REMEMBER_COOKIE_SAMESITE"))
    return response


def _sets_cookie(response: Response, name: str) -> bool:
    return any(header.startswith(f"{name}=") for header in response.headers.getlist("Set-Cookie"))


def init_app(app: Flask) -> None:
    """Registered after Flask-Login, so it runs before Flask-Login's own after-request (which may set a cookie)."""

    @app.after_request
    def drop_dead_remember_cookie(response: Response) -> Response:
        """A remember cookie sent with a request that ends with nobody logged in no longer works (its session
        token was replaced, or the user logged out): the browser is told to delete it."""
        name = _remember_cookie_name()
        if name not in request.cookies or session.get("_remember") == "clear" or _sets_cookie(response, name):
            return response  # no cookie, or Flask-Login (or the view) deletes or replaces it already
        user = g.get("_login_user")  # only if this request looked at the user: no query for static files
        if user is not None and not user.is_authenticated:
            forget_remember_cookie(response)
        return response
