"""Tokens for API tests, made through the same service the profile page uses."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fellowship.auth.models import User
from fellowship.auth.tokens import create_token
from fellowship.extensions import db
from fellowship.models import utcnow


def token_for(user: User, *scopes: str, days: int = 30, name: str = "Test client") -> str:
    """A committed token for `user` with `scopes`; its secret."""
    issued = create_token(user, name, list(scopes), utcnow().date() + timedelta(days=days))
    db.session.commit()
    return issued.secret


def bearer(secret: str) -> dict[str, Any]:
    return {"Authorization": f"Bearer {secret}"}
