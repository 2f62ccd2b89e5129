"""Signed, expiring tokens for the emailed account links (itsdangerous)."""

from __future__ import annotations

import hashlib
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from fellowship.errors import DomainError

CONFIRM_SALT = "fellowship.confirm-email"
RESET_SALT = "fellowship.reset-password"
INVITE_SALT = "fellowship.invitation"


class TokenExpired(DomainError):
    pass


class TokenInvalid(DomainError):
    pass


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def make_token(salt: str, payload: dict[str, Any]) -> str:
    return _serializer(salt).dumps(payload)


def read_token(salt: str, token: str, max_age: int, expired_message: str) -> dict[str, Any]:
    """The payload of a valid token; raises TokenExpired or TokenInvalid with a readable message."""
    try:
        payload = _serializer(salt).loads(token, max_age=max_age)
    except SignatureExpired:
        raise TokenExpired(expired_message) from None
    except BadSignature:
        raise TokenInvalid(_("This link is not valid. Check that you copied the whole link.")) from None
    if not isinstance(payload, dict):
        raise TokenInvalid(_("This link is not valid."))
    return payload


def password_fingerprint(password_hash: str) -> str:
    """Changes whenever the password does, so a reset link works once only."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]
