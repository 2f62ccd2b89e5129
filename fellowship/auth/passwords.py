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
#: A hash made by the hasher in use, verified against when there is no account, so that takes as long as a real check.
_dummy_hash = _hasher.hash("not-a-real-password-just-for-timing")


def use_hasher(hasher: PasswordHasher) -> PasswordHasher:
    """Hash and verify with `hasher` from now on, in this process; returns the one used until now. Only the test
    suite calls this: its thousand logins use the same argon2id with parameters a hundred times cheaper."""
    global _hasher, _dummy_hash
    previous, _hasher = _hasher, hasher
    _dummy_hash = hasher.hash("not-a-real-password-just-for-timing")
    return previous


def current_hasher() -> PasswordHasher:
    return _hasher


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def verify_no_password(password: str) -> None:
    """Take as long as verify_password does, where there is no account to check `password` against."""
    verify_password(_dummy_hash, password)


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
