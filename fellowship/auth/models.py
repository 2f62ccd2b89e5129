"""Accounts and the roles they hold."""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import ForeignKey, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fellowship.models import Base, IdMixin, LabelledEnum, TimestampMixin, UTCDateTime, enum_column


class Role(LabelledEnum):
    APPLICANT = "applicant"
    REVIEWER = "reviewer"
    STAFF = "staff"
    ADMIN = "admin"

    @classmethod
    def _labels(cls) -> dict[str, Any]:
        return {"applicant": _l("Applicant"), "reviewer": _l("Reviewer"), "staff": _l("Staff"), "admin": _l("Admin")}


def new_session_token() -> str:
    """A random token for `User.session_token` (256 bits)."""
    return secrets.token_urlsafe(32)


class User(UserMixin, IdMixin, TimestampMixin, Base):
    __tablename__ = "users"

    #: Stored lower-cased; unique case-insensitively because of that.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    email_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    is_active_account: Mapped[bool] = mapped_column(default=True, server_default="1")
    #: IANA zone the user reads times in (deadlines are also shown in the programme's zone).
    time_zone: Mapped[str | None] = mapped_column(String(64))
    #: Interface language chosen (fellowship.i18n.LOCALES); null: not chosen, the cookie or the browser decides.
    locale: Mapped[str | None] = mapped_column(String(10))
    #: Part of every session and "remember me" cookie of the account (see `get_id`); a new one ends them all.
    session_token: Mapped[str] = mapped_column(String(64), default=new_session_token)

    roles: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    def get_id(self) -> str:
        """What Flask-Login keeps in the session and the remember cookie: "<id>:<session token>"."""
        return f"{self.id}:{self.session_token}"

    def holds_session(self, session_id: str) -> bool:
        """Whether `session_id` (from a session or remember cookie) was issued with the current session token."""
        return hmac.compare_digest(session_id.encode(), self.get_id().encode())

    def end_all_sessions(self) -> None:
        """A new session token: every session and remember cookie issued before stops working."""
        self.session_token = new_session_token()

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return self.is_active_account

    @property
    def email_confirmed(self) -> bool:
        return self.email_confirmed_at is not None

    @property
    def role_set(self) -> set[Role]:
        return {r.role for r in self.roles}

    def has_role(self, *roles: Role) -> bool:
        return bool(self.role_set.intersection(roles))

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


def user_id_of_session(session_id: str) -> int | None:
    """The account id in a session id ("<id>:<token>"); None for anything else, such as the bare ids that
    sessions held before session tokens existed (those sessions end)."""
    user_id, sep, token = session_id.partition(":")
    if not (sep and token and user_id.isascii() and user_id.isdigit() and len(user_id) <= 18):
        return None
    return int(user_id)


class UserRole(Base):
    __tablename__ = "user_roles"
    __table_args__ = (UniqueConstraint("user_id", "role", name="uq_user_roles_user_id_role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(enum_column(Role, "role"), index=True)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())

    user: Mapped[User] = relationship(back_populates="roles")
