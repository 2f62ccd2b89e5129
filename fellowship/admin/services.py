"""What admins do to accounts: invite, deactivate, reactivate, send a password reset. Each is audited."""

from __future__ import annotations

import logging
from typing import Any, cast

from flask_babel import gettext as _
from sqlalchemy import CursorResult, exists, select, update
from sqlalchemy.exc import IntegrityError

from fellowship.audit.services import record
from fellowship.auth import invitations
from fellowship.auth.models import Role, User, UserRole, new_session_token
from fellowship.auth.services import (
    find_user_by_email,
    grant_role,
    normalise_email,
    other_active_admins,
    send_password_reset_link,
)
from fellowship.errors import DomainError, FieldError
from fellowship.extensions import db

log = logging.getLogger(__name__)


def invite_user(email: str, full_name: str, role: Role, *, by: User) -> User:
    """Open an account for `email` with `role` and email its owner a link to set their password.

    An address whose invitation is still open is invited again (the role added, a new link that ends the old
    one); an address with an account of its own is refused beside the field. Two admins inviting one address at
    the same moment: the unique email decides, the second is told the address is taken.
    """
    if role not in invitations.INVITABLE_ROLES:
        raise FieldError("role", _("Choose a role from the list."))
    email = normalise_email(email)
    existing = find_user_by_email(email)
    if existing is not None:
        if not invitations.is_pending(existing):
            raise FieldError("email", _("%(name)s already has an account with this address. Give it the role on "
                                        "the Accounts page instead.", name=existing.full_name))
        return resend_invitation(existing, by=by, role=role)
    user = User(email=email, full_name=full_name.strip(), password_hash=invitations.new_invited_password_hash())
    user.roles.append(UserRole(role=role))
    try:
        with db.session.begin_nested():
            db.session.add(user)
    except IntegrityError:
        raise FieldError("email", _("Someone has just opened an account with this address. "
                                  "Find it on the Accounts page.")) from None
    invitations.send_invitation(user, role, by)
    record("admin.user_invited", user, role=role.value)
    log.info("account %s invited as %s by user %s", user.id, role.value, by.id)
    return user


def resend_invitation(user: User, *, by: User, role: Role | None = None) -> User:
    """Email a pending invitee a new link (earlier links stop working); with `role`, also give them that role."""
    if not invitations.is_pending(user):
        raise DomainError(_("%(name)s has already accepted the invitation. Send a password reset instead.",
                            name=user.full_name))
    if not user.is_active_account:
        raise DomainError(_("%(name)s's invitation was withdrawn (the account is deactivated). Reactivate the "
                            "account first.", name=user.full_name))
    if role is not None:
        grant_role(user, role)
    held = [r for r in (Role.STAFF, Role.REVIEWER) if r in user.role_set]
    invitations.send_invitation(user, role or (held[0] if held else Role.REVIEWER), by)
    record("admin.invitation_resent", user, role=role.value if role else None)
    return user


def deactivate_user(user: User, *, by: User) -> bool:
    """Stop the account from logging in and end all its sessions; returns False if it was deactivated already.

    An admin cannot deactivate themself, nor the last active admin: with the admin rows locked (as `revoke_role`
    does), the count of the other active admins and the change are one conditional UPDATE, so two admins
    deactivating each other at the same moment leave one of them.
    """
    if user.id == by.id:
        raise DomainError(_("You cannot deactivate your own account. Ask another admin."))
    is_admin = exists().where(UserRole.user_id == user.id, UserRole.role == Role.ADMIN)
    db.session.execute(select(UserRole.id).where(UserRole.role == Role.ADMIN).with_for_update())
    changed = cast(CursorResult[Any], db.session.execute(
        update(User).where(User.id == user.id, User.is_active_account.is_(True),
                           ~is_admin | (other_active_admins(user.id) > 0))
        .values(is_active_account=False, session_token=new_session_token())
        .execution_options(synchronize_session=False))).rowcount
    db.session.refresh(user)
    if not changed:
        if user.is_active_account:
            raise DomainError(_("%(name)s is the last active admin. Make someone else an admin first.",
                                name=user.full_name))
        return False
    record("admin.user_deactivated", user)
    log.info("account %s deactivated by user %s", user.id, by.id)
    return True


def reactivate_user(user: User, *, by: User) -> bool:
    """Let a deactivated account log in again (its old sessions stay ended); False if it was active already."""
    changed = cast(CursorResult[Any], db.session.execute(
        update(User).where(User.id == user.id, User.is_active_account.is_(False)).values(is_active_account=True)
        .execution_options(synchronize_session=False))).rowcount
    db.session.refresh(user)
    if not changed:
        return False
    record("admin.user_reactivated", user)
    log.info("account %s reactivated by user %s", user.id, by.id)
    return True


def send_password_reset(user: User, *, by: User) -> None:
    """Email the account the same single-use reset link as "forgot password" (an invitee gets a new invitation)."""
    if not user.is_active_account:
        raise DomainError(_("%(name)s's account is deactivated. Reactivate it first.", name=user.full_name))
    if invitations.is_pending(user):
        resend_invitation(user, by=by)
        return
    send_password_reset_link(user)
    record("admin.password_reset_sent", user)


def accounts_waiting(limit: int = 5) -> tuple[int, list[User], int]:
    """For the admin's home page: (invited accounts not yet accepted, the first few of them, accounts with no role)."""
    from sqlalchemy import func

    invited = User.password_hash.startswith(invitations.INVITED_PREFIX, autoescape=True)
    pending = list(db.session.scalars(select(User).where(invited).order_by(User.id).limit(limit)))
    count, roleless = db.session.execute(select(
        select(func.count(User.id)).where(invited).scalar_subquery(),
        select(func.count(User.id)).where(~exists().where(UserRole.user_id == User.id),
                                          User.is_active_account.is_(True), ~invited).scalar_subquery())).one()
    return int(count or 0), pending, int(roleless or 0)
