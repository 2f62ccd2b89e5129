"""Tokens: signed, expiring ones for the emailed account links (itsdangerous), and the personal access tokens a
user creates on their profile for the JSON API (random secrets, stored as hashes)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, joinedload, mapped_column, relationship

from fellowship.audit.services import record as audit_record
from fellowship.auth.models import Role, User
from fellowship.calls.models import DEFAULT_TIME_ZONE
from fellowship.errors import DomainError, FieldError
from fellowship.extensions import db
from fellowship.models import Base, IdMixin, LabelledEnum, UTCDateTime, utcnow
from fellowship.timezones import local_to_utc, utc_to_local, viewer_zone

CONFIRM_SALT = "fellowship.confirm-email"
RESET_SALT = "fellowship.reset-password"
INVITE_SALT = "fellowship.invitation"


class TokenExpired(DomainError):
    pass


class TokenInvalid(DomainError):
    pass


class TokenAlreadyCreated(DomainError):
    """The form that creates a token was sent again (a reload, a double click): its token exists already."""


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


# --- Personal access tokens for the JSON API ------------------------------------------------------------------


class Scope(LabelledEnum):
    """What a personal access token may read; the API v1 is read-only."""

    APPLICATIONS_READ = "applications:read"
    REVIEWS_READ = "reviews:read"
    RANKINGS_READ = "rankings:read"
    FELLOWS_READ = "fellows:read"
    ALUMNI_READ = "alumni:read"

    @classmethod
    def _labels(cls) -> dict[str, Any]:
        return {"applications:read": _l("Applications and their answers (yours; staff: every application)"),
                "reviews:read": _l("Reviews (reviewers: your own; staff: every review)"),
                "rankings:read": _l("Rankings of a call (staff)"),
                "fellows:read": _l("Fellows (staff)"),
                "alumni:read": _l("Alumni and their outcome figures (staff)")}


STAFF_ROLES = frozenset({Role.STAFF, Role.ADMIN})
#: The roles whose holders may be given each scope; a token can do only what its scopes AND its user's roles allow
#: (checked again on every request: a role revoked after the token was made takes the scope with it).
SCOPE_ROLES: dict[Scope, frozenset[Role]] = {
    Scope.APPLICATIONS_READ: frozenset(Role),  # everyone: an applicant reads their own applications
    Scope.REVIEWS_READ: STAFF_ROLES | {Role.REVIEWER},
    Scope.RANKINGS_READ: STAFF_ROLES,
    Scope.FELLOWS_READ: STAFF_ROLES,
    Scope.ALUMNI_READ: STAFF_ROLES,
}

#: What every secret starts with, so a leaked one is recognisable (secret scanners, logs) as ours.
SECRET_PREFIX = "fsp_"  # noqa: S105 (a prefix, not a secret)
#: Characters of the secret kept in clear to tell tokens apart in the list ("fsp_Ab12…").
HINT_LENGTH = len(SECRET_PREFIX) + 4
DEFAULT_LIFETIME_DAYS = 90
MAX_LIFETIME_DAYS = 365
MAX_TOKENS_PER_USER = 50


def hash_secret(secret: str) -> str:
    """SHA-256 of a token's secret, as stored and looked up.

    A fast hash is right here, unlike for passwords: the secret is 256 random bits from `secrets`, so no guess list
    or brute force can find it from its hash, and a fast hash lets every API request find its token in one indexed
    equality lookup (a salted slow hash would need a scan, or a second identifier in the token)."""
    return hashlib.sha256(secret.encode()).hexdigest()


class PersonalAccessToken(IdMixin, Base):
    """A user's secret for the JSON API: scoped, expiring, revocable; only its hash is stored."""

    __tablename__ = "personal_access_tokens"
    __table_args__ = (CheckConstraint("expires_at > created_at", name="token_expires_after_creation"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    #: Scope values (Scope), sorted.
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: hash_secret(secret): hex SHA-256, unique; the secret itself is shown once and never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: The first characters of the secret, shown in the list so the owner can tell tokens apart.
    hint: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: Updated at most once a minute (see fellowship.api.auth).
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The one-time value of the form that created the token (new_form_nonce), unique: the same form sent twice
    #: (a reload of the answer to the POST) creates one token. None for tokens made without the form.
    form_nonce: Mapped[str | None] = mapped_column(String(64), unique=True)

    user: Mapped[User] = relationship(lazy="raise")

    @property
    def scope_set(self) -> set[Scope]:
        return {Scope(value) for value in self.scopes if value in Scope._value2member_map_}

    def is_live(self, now: datetime | None = None) -> bool:
        """Neither revoked nor expired."""
        return self.revoked_at is None and self.expires_at > (now or utcnow())

    def __repr__(self) -> str:
        return f"<PersonalAccessToken {self.id} of user {self.user_id}>"


@dataclass(frozen=True)
class IssuedToken:
    """A token just created, with its secret: the only moment the secret exists outside the client."""

    token: PersonalAccessToken
    secret: str


def expiry_zone(user: User) -> str:
    """The zone a token's last day is a day in: the one the user reads every time in (theirs, else the programme's)."""
    return viewer_zone(user, DEFAULT_TIME_ZONE)


def today_for(user: User) -> date:
    """Today's date where the user is (expiry_zone), which the expiry form counts from."""
    return utc_to_local(utcnow(), expiry_zone(user)).date()


def expires_at_end_of(day: date, zone: str) -> datetime:
    """The last second of `day` in `zone`, in UTC: a token chosen to expire on a day works all that day, as the
    user counts days, and the list shows that day back."""
    return local_to_utc(datetime.combine(day, time(23, 59, 59)), zone)


def new_form_nonce() -> str:
    """A random value for one rendering of the create-token form."""
    return secrets.token_urlsafe(32)


def scopes_allowed(user: User) -> list[Scope]:
    """The scopes `user`'s roles allow, in the order the form lists them."""
    roles = user.role_set
    return [scope for scope in Scope if roles & SCOPE_ROLES[scope]]


def create_token(user: User, name: str, scopes: list[str], expires_on: date, *,
                 today: date | None = None, form_nonce: str | None = None) -> IssuedToken:
    """A new token for `user` with a secret from `secrets`; raises FieldError for a name, scope or expiry the
    user may not have, and TokenAlreadyCreated when a token was made with `form_nonce` already (the insert does
    nothing on that unique value, so two sends of one form, even at the same moment, make one token). The caller
    shows `secret` once and commits."""
    today = today or today_for(user)
    name = " ".join(name.split())
    if not name:
        raise FieldError("name", _("Give the token a name that says where it is used."))
    allowed = {scope.value for scope in scopes_allowed(user)}
    wanted = sorted(set(scopes))
    if not wanted:
        raise FieldError("scopes", _("Choose at least one thing the token may read."))
    if not set(wanted) <= allowed:
        raise FieldError("scopes", _("Your account cannot give a token that access."))
    if not today < expires_on <= today + timedelta(days=MAX_LIFETIME_DAYS):
        raise FieldError("expires_on", _("Choose a day after today and at most %(days)d days ahead.",
                                         days=MAX_LIFETIME_DAYS))
    live = db.session.scalar(select(func.count()).select_from(PersonalAccessToken).where(
        PersonalAccessToken.user_id == user.id, PersonalAccessToken.revoked_at.is_(None)))
    if (live or 0) >= MAX_TOKENS_PER_USER:
        raise FieldError("name", _("You have %(count)d tokens. Revoke one you no longer use first.",
                                   count=MAX_TOKENS_PER_USER))
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    expires_at = expires_at_end_of(expires_on, expiry_zone(user))
    values = {"user_id": user.id, "name": name, "scopes": wanted, "token_hash": hash_secret(secret),
              "hint": secret[:HINT_LENGTH], "created_at": now, "expires_at": expires_at, "form_nonce": form_nonce}
    insert = postgresql_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    new_id = db.session.scalar(insert(PersonalAccessToken).values(**values)
                               .on_conflict_do_nothing(index_elements=["form_nonce"])
                               .returning(PersonalAccessToken.id))
    if new_id is None:
        raise TokenAlreadyCreated(_("This token was already created; its secret was shown only once. If you did "
                                    "not copy it, revoke it and create another."))
    token = db.session.get_one(PersonalAccessToken, new_id)
    audit_record("auth.api_token_created", token, actor_id=user.id, name=name, scopes=wanted,
                 expires_at=expires_at.isoformat())
    return IssuedToken(token=token, secret=secret)


def tokens_of(user_id: int) -> list[PersonalAccessToken]:
    """The user's tokens, newest first, revoked ones included (they show as revoked)."""
    return list(db.session.scalars(select(PersonalAccessToken).where(PersonalAccessToken.user_id == user_id)
                                   .order_by(PersonalAccessToken.id.desc())))


def revoke_token(user: User, token_id: int) -> PersonalAccessToken | None:
    """Revoke the user's token `token_id` in one conditional write (a second revoke changes nothing); None when the
    user has no such token (another user's is none of theirs)."""
    now = utcnow()
    revoked = db.session.execute(
        update(PersonalAccessToken)
        .where(PersonalAccessToken.id == token_id, PersonalAccessToken.user_id == user.id,
               PersonalAccessToken.revoked_at.is_(None))
        .values(revoked_at=now).execution_options(synchronize_session=False))
    token = db.session.scalar(select(PersonalAccessToken).where(PersonalAccessToken.id == token_id,
                                                                PersonalAccessToken.user_id == user.id)
                              .execution_options(populate_existing=True))
    if token is not None and revoked.rowcount:  # type: ignore[attr-defined]
        audit_record("auth.api_token_revoked", token, actor_id=user.id, name=token.name)
    return token


def token_for_secret(secret: str) -> PersonalAccessToken | None:
    """The token whose secret is `secret` with its user and roles, in one indexed query; None for an unknown one.
    The caller decides whether it is still live."""
    if not secret.startswith(SECRET_PREFIX) or len(secret) > 100:
        return None
    return db.session.scalar(select(PersonalAccessToken)
                             .where(PersonalAccessToken.token_hash == hash_secret(secret))
                             .options(joinedload(PersonalAccessToken.user).selectinload(User.roles)))
