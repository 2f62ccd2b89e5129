"""Saving a person's language."""

from __future__ import annotations

from flask_babel import gettext as _

from fellowship.audit.services import record
from fellowship.errors import DomainError
from fellowship.i18n import LOCALES


def check_locale(locale: str | None) -> str:
    """`locale` if it is one of the interface languages; else a DomainError."""
    if locale not in LOCALES:
        raise DomainError(_("Choose a language from the list."))
    return str(locale)


def save_user_locale(user: object, locale: str) -> None:
    """Remember the account's interface language (pages, and the emails it receives)."""
    locale = check_locale(locale)
    if getattr(user, "locale", None) != locale:
        user.locale = locale  # type: ignore[attr-defined]
        record("auth.locale_changed", user, locale=locale)
