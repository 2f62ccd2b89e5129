"""The language switcher: a small form on every page, no JavaScript needed."""

from __future__ import annotations

from flask import redirect, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from fellowship.errors import DomainError
from fellowship.extensions import db
from fellowship.i18n import LOCALE_COOKIE, LOCALE_COOKIE_MAX_AGE, bp
from fellowship.i18n.forms import LanguageForm
from fellowship.i18n.services import check_locale, save_user_locale
from fellowship.navigation import safe_local_path


@bp.route("/language", methods=["POST"])
def switch_language() -> Response:
    """Show the site in the chosen language from now on: a cookie for everyone, saved on the account if logged in."""
    form = LanguageForm()
    back = safe_local_path(form.next.data or request.referrer and _path_of(request.referrer)) or url_for("main.index")
    response = redirect(back)
    if not form.validate_on_submit():
        return response
    try:
        locale = check_locale(form.locale.data)
    except DomainError:
        return response
    if current_user.is_authenticated:
        save_user_locale(current_user, locale)
        db.session.commit()
    response.set_cookie(LOCALE_COOKIE, locale, max_age=LOCALE_COOKIE_MAX_AGE, samesite="Lax", httponly=True,
                        secure=request.is_secure)
    return response


def _path_of(url: str) -> str | None:
    """The path and query of a same-site Referer, else None."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.netloc and parts.netloc != request.host:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")
