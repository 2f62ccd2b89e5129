"""Account operations: registration, confirmation, login, password reset and change, roles."""

from __future__ import annotations

import logging
from typing import Any, cast

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import CursorResult, Select, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, lazyload

from fellowship.audit.services import record
from fellowship.auth import tokens
from fellowship.auth.models import Role, User, UserRole, new_session_token
from fellowship.auth.passwords import (
    hash_password,
    needs_rehash,
    password_problem,
    verify_no_password,
    verify_password,
)
from fellowship.errors import DomainError
from fellowship.extensions import db
from fellowship.i18n.services import save_user_locale
from fellowship.i18n.texts import current_locale
from fellowship.models import utcnow
from fellowship.notifications.services import public_link as link
from fellowship.notifications.services import queue_email
from fellowship.timezones import is_valid_zone

log = logging.getLogger(__name__)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def register_user(email: str, full_name: str, password: str) -> User | None:
    """Create an applicant account and email a confirmation link.

    If the email is taken, the owner is told by email instead and None is returned: the page
    says the same in both cases, and the password is hashed in both (the slow part), so neither
    the answer nor its timing tells anyone which addresses are registered. Registrations of one
    email at the same moment are decided by the unique email: the others are taken-email attempts.
    """
    email = normalise_email(email)
    problem = password_problem(password, [email, full_name])
    if problem:
        raise DomainError(problem)
    password_hash = hash_password(password)
    existing = find_user_by_email(email)
    if existing is not None:
        _warn_owner_of_registration_attempt(existing)
        return None
    # The language the registration page was read in becomes the account's (its emails are written in it).
    user = User(email=email, full_name=full_name.strip(), password_hash=password_hash, locale=current_locale())
    user.roles.append(UserRole(role=Role.APPLICANT))
    try:
        with db.session.begin_nested():
            db.session.add(user)
    except IntegrityError:
        existing = find_user_by_email(email)
        if existing is None:  # not the email that clashed: a real error
            raise
        _warn_owner_of_registration_attempt(existing)
        return None
    send_confirmation(user)
    record("auth.registered", user, actor_id=user.id)
    return user


def _warn_owner_of_registration_attempt(user: User) -> None:
    queue_email(user.email, "auth/already_registered", name=user.full_name,
                login_url=link("/auth/login"), reset_url=link("/auth/forgot"))
    log.info("registration attempt for existing account %s", user.id)


def send_confirmation(user: User) -> None:
    token = tokens.make_token(tokens.CONFIRM_SALT, {"uid": user.id, "email": user.email})
    queue_email(user.email, "auth/confirm_email", name=user.full_name,
                confirm_url=link(f"/auth/confirm/{token}"))


def confirm_email(token: str) -> User:
    """Mark the account's email confirmed; a second use of the link is harmless."""
    payload = tokens.read_token(
        tokens.CONFIRM_SALT, token, current_app.config["EMAIL_CONFIRM_MAX_AGE"],
        _("This confirmation link has expired. Log in to have a new one sent to you."),
    )
    user = db.session.get(User, payload.get("uid"))
    if user is None or user.email != payload.get("email"):
        raise tokens.TokenInvalid(_("This confirmation link is not valid."))
    if user.email_confirmed_at is None:
        user.email_confirmed_at = utcnow()
        record("auth.email_confirmed", user, actor_id=user.id)
    return user


class LoginRefused(DomainError):
    pass


class WrongCurrentPassword(DomainError):
    pass


def authenticate(email: str, password: str) -> User:
    """The user for these credentials; an unconfirmed account is refused and sent a new link."""
    user = find_user_by_email(email)
    if user is None:
        verify_no_password(password)  # a login takes as long either way
        raise LoginRefused(_("Wrong email or password."))
    if not verify_password(user.password_hash, password):
        raise LoginRefused(_("Wrong email or password."))
    if not user.is_active_account:
        office = current_app.config["PROGRAMME_CONTACT_NAME"]
        address = current_app.config["PROGRAMME_CONTACT_EMAIL"]
        if address:
            raise LoginRefused(_("This account has been deactivated, so it cannot log in. To use it again, contact "
                                 "%(office)s at %(address)s.", office=office, address=address))
        raise LoginRefused(_("This account has been deactivated, so it cannot log in. To use it again, contact "
                             "%(office)s.", office=office))
    if user.email_confirmed_at is None:
        send_confirmation(user)
        raise LoginRefused(_("Please confirm your email address first: use the link we emailed you. "
                           "We have sent a new one."))
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    return user


def start_password_reset(email: str) -> None:
    """Email a reset link if the account exists, else tell the address that no account uses it.

    The page says the same either way, and both ways write one email, so neither the answer nor its timing tells
    anyone whether the address has an account; only its owner learns that, by reading their mail.
    """
    # The same statements either way: the roles are not needed (they would cost one more query for an account).
    user = db.session.scalar(select(User).where(User.email == normalise_email(email)).options(lazyload(User.roles)))
    if user is None or not user.is_active_account:
        queue_email(normalise_email(email), "auth/reset_no_account", forgot_url=link("/auth/forgot"),
                    register_url=link("/auth/register"))
        record("auth.password_reset_requested", None, account=False)  # no address: it belongs to no user
        return
    send_password_reset_link(user)
    record("auth.password_reset_requested", user, actor_id=user.id)


def send_password_reset_link(user: User) -> None:
    """Email the account a single-use link to set a new password ("forgot password", or sent by an admin)."""
    token = tokens.make_token(
        tokens.RESET_SALT, {"uid": user.id, "pw": tokens.password_fingerprint(user.password_hash)}
    )
    queue_email(user.email, "auth/reset_password", name=user.full_name,
                reset_url=link(f"/auth/reset/{token}"),
                valid_minutes=current_app.config["PASSWORD_RESET_MAX_AGE"] // 60)


def user_for_reset_token(token: str) -> User:
    """The user a reset link belongs to; refuses an expired link and one already used."""
    payload = tokens.read_token(
        tokens.RESET_SALT, token, current_app.config["PASSWORD_RESET_MAX_AGE"],
        _("This password reset link has expired. Ask for a new one below."),
    )
    user = db.session.get(User, payload.get("uid"))
    if user is None or tokens.password_fingerprint(user.password_hash) != payload.get("pw"):
        raise tokens.TokenInvalid(_("This password reset link has already been used. Ask for a new one below."))
    return user


def reset_password(token: str, new_password: str) -> User:
    """Set the new password; the link works once, also when it is submitted twice at the same moment."""
    user = user_for_reset_token(token)
    _check_strength(user, new_password)
    # One conditional write: only while the password is still the one the link was issued for.
    changed = cast(CursorResult[Any], db.session.execute(
        update(User).where(User.id == user.id, User.password_hash == user.password_hash)
        .values(password_hash=hash_password(new_password), session_token=new_session_token())
        .execution_options(synchronize_session=False))).rowcount
    if not changed:
        raise tokens.TokenInvalid(_("This password reset link has already been used. Ask for a new one below."))
    db.session.refresh(user)
    # Following the emailed link proves the address too.
    user.email_confirmed_at = user.email_confirmed_at or utcnow()
    record("auth.password_reset", user, actor_id=user.id)
    queue_email(user.email, "auth/password_changed", name=user.full_name, reset_url=link("/auth/forgot"))
    return user


def change_password(user: User, current_password: str, new_password: str) -> None:
    """Set a new password; every session of the account ends (the view logs its own browser in again)."""
    if not verify_password(user.password_hash, current_password):
        raise WrongCurrentPassword(_("The current password is not correct."))
    _set_password(user, new_password)
    record("auth.password_changed", user, actor_id=user.id)
    queue_email(user.email, "auth/password_changed", name=user.full_name, reset_url=link("/auth/forgot"))


def _check_strength(user: User, new_password: str) -> None:
    problem = password_problem(new_password, [user.email, user.full_name])
    if problem:
        raise DomainError(problem)


def _set_password(user: User, new_password: str) -> None:
    _check_strength(user, new_password)
    user.password_hash = hash_password(new_password)
    user.end_all_sessions()  # whoever knew the old password is logged out everywhere


def log_out_everywhere(user: User) -> None:
    """End every session and "remember me" cookie of the account, on every device (this one too)."""
    user.end_all_sessions()
    record("auth.logged_out_everywhere", user, actor_id=user.id)


def grant_role(user: User, role: Role) -> bool:
    """Give `user` the role; returns False if they already had it (also if another admin granted it just now:
    the unique (user, role) decides)."""
    if role in user.role_set:
        return False
    try:
        with db.session.begin_nested():
            user.roles.append(UserRole(role=role))
    except IntegrityError:
        db.session.expire(user, ["roles"])
        return False
    record("auth.role_granted", user, role=role.value)
    return True


def revoke_role(user: User, role: Role, *, acting_user: User | None = None) -> bool:
    """Take the role from `user`, ending their sessions everywhere (pages and forms opened with the role must
    not outlive it); returns False if they did not have it. An admin cannot remove their own admin role, and
    the last admin role stays, even when two admins remove each other's at the same moment (no lock-out)."""
    if acting_user is not None and acting_user.id == user.id and role is Role.ADMIN:
        raise DomainError(_("You cannot remove your own admin role. Ask another admin."))
    held = [UserRole.user_id == user.id, UserRole.role == role]
    condition = list(held)
    if role is Role.ADMIN:
        # PostgreSQL: the admin rows are locked, so a concurrent removal waits and then counts what is left.
        # SQLite: writes are serialised, so the count inside the DELETE below is the final word there.
        db.session.execute(select(UserRole.id).where(UserRole.role == Role.ADMIN).with_for_update())
        other_admins = other_active_admins(user.id)
        condition.append(other_admins > 0)
    deleted = cast(CursorResult[Any], db.session.execute(
        delete(UserRole).where(*condition).execution_options(synchronize_session=False))).rowcount
    db.session.expire(user, ["roles"])
    if not deleted:
        if role is Role.ADMIN and db.session.scalar(select(UserRole.id).where(*held)) is not None:
            raise DomainError(_("This is the last admin account; grant admin to someone else first."))
        return False
    user.end_all_sessions()
    record("auth.role_revoked", user, role=role.value)
    return True


def other_active_admins(user_id: int) -> Any:
    """SQL: how many accounts other than `user_id` hold the admin role and can log in (a deactivated admin cannot
    administer anything, so it does not count when the last admin must stay)."""
    role, account = aliased(UserRole), aliased(User)  # never correlated with a DELETE or UPDATE of those tables
    return (select(func.count()).select_from(role).join(account, account.id == role.user_id)
            .where(role.role == Role.ADMIN, role.user_id != user_id, account.is_active_account.is_(True))
            .scalar_subquery())


def create_user(email: str, full_name: str, password: str, roles: set[Role], *,
                check_strength: bool = True) -> User:
    """Create a confirmed account with the given roles (CLI and demo data), or update its roles."""
    if check_strength:
        problem = password_problem(password, [email, full_name])
        if problem:
            raise DomainError(problem)
    user = find_user_by_email(email)
    if user is None:
        user = User(email=normalise_email(email), full_name=full_name, password_hash=hash_password(password),
                    email_confirmed_at=utcnow())
        db.session.add(user)
        db.session.flush()
        record("auth.account_created", user, roles=sorted(r.value for r in roles))
    for role in sorted(roles):
        grant_role(user, role)
    return user


def users_query(search: str | None) -> Select[tuple[User]]:
    """Accounts for the admin list, optionally filtered by name or email."""
    stmt = select(User).order_by(User.id)
    if search:
        pattern = f"%{search.strip().lower()}%"
        stmt = stmt.where(func.lower(User.full_name).like(pattern) | User.email.like(pattern))
    return stmt


def update_profile(user: User, full_name: str, time_zone: str, locale: str | None = None) -> None:
    """Change the user's name, the time zone they read deadlines in and (if given) their language."""
    if not is_valid_zone(time_zone):
        raise DomainError(_("Choose a time zone from the list."))
    user.full_name, user.time_zone = full_name.strip(), time_zone
    if locale is not None:
        save_user_locale(user, locale)
    record("auth.profile_updated", user, time_zone=time_zone)
