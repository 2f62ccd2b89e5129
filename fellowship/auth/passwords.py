"""Password hashing (argon2id) and the strength rule."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import get_locale
from flask_babel import gettext as _
from zxcvbn import zxcvbn

MIN_LENGTH = 8
MAX_LENGTH = 128
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def password_problem(password: str, user_inputs: list[str] | None = None) -> str | None:
    """Why a password is refused, or None: too short, too long, or common / easy to guess."""
    if len(password) < MIN_LENGTH:
        return _("Use at least %(num)d characters.", num=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        return _("Use at most %(num)d characters.", num=MAX_LENGTH)
    result = zxcvbn(password[:100], user_inputs=[u for u in (user_inputs or []) if u])
    if result["score"] < 2:
        # zxcvbn's own warning is English only: other languages get the general reason.
        warning = result["feedback"].get("warning") if str(get_locale() or "en") == "en" else None
        return _("This password is too common or easy to guess. %(hint)s Try a few unrelated words together.",
                 hint=warning or _("It is too easy to guess."))
    return None
