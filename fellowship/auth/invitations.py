"""Accounts opened by invitation: an admin names the person and their role, the person sets their own password.

An invited account exists from the start (admins see it, and can withdraw it by deactivating it), but has no
password: its password hash is a marker with a random nonce, which no password verifies. The emailed link carries
a fingerprint of that marker, so a new invitation (a new nonce) ends the earlier links, and choosing the password
(one conditional UPDATE on the marker) ends this one: each link works once.
"""

from __future__ import annotations

import secrets
from typing import Any, cast

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import CursorResult, update

from fellowship.audit.services import record
from fellowship.auth import tokens
from fellowship.auth.models import Role, User, new_session_token
from fellowship.auth.passwords import hash_password, password_problem
from fellowship.errors import DomainError
from fellowship.extensions import db
from fellowship.models import utcnow
from fellowship.notifications.services import public_link, queue_email, recipient_locale
from fellowship.words import N_

#: Start of the password hash of an account whose invitation is not yet accepted (not an argon2 hash).
INVITED_PREFIX = "!invited:"
#: How the invitation email and page name each role an admin can invite to.
#: The messages (English), translated where shown: on the page in the reader's language, in the email in the invitee's.
INVITABLE_ROLES: dict[Role, str] = {Role.REVIEWER: N_("a reviewer"),
                                    Role.STAFF: N_("a member of the programme staff")}

_USED = _l("This invitation has already been used. Log in with the password you chose, or ask for a new "
           "password.")


def is_pending(user: User) -> bool:
    """Whether the account was invited and nobody has set its password yet."""
    return user.password_hash.startswith(INVITED_PREFIX)


def new_invited_password_hash() -> str:
    """A password-hash marker that no password verifies; a fresh one ends every earlier invitation link."""
    return INVITED_PREFIX + secrets.token_urlsafe(16)


def role_labels(user: User) -> list[str]:
    """What the invitee is invited as, in words ("a reviewer")."""
    return [_(INVITABLE_ROLES[role]) if role in INVITABLE_ROLES else role.label for role in sorted(user.role_set)]


def send_invitation(user: User, role: Role, invited_by: User) -> None:
    """Email the invitee a single-use link to set their name and password (the account must be pending)."""
    user.password_hash = new_invited_password_hash()
    token = tokens.make_token(tokens.INVITE_SALT,
                              {"uid": user.id, "pw": tokens.password_fingerprint(user.password_hash)})
    locale = recipient_locale(user.email)
    with force_locale(locale):  # the role in the invitee's language, as the rest of the email
        role_text = _(INVITABLE_ROLES[role]) if role in INVITABLE_ROLES else role.label
    queue_email(user.email, "auth/invitation", locale=locale, name=user.full_name, invited_by=invited_by.full_name,
                role=role_text, accept_url=public_link(f"/auth/invitation/{token}"),
                valid_days=max(1, current_app.config["INVITATION_MAX_AGE"] // 86400))


def user_for_invitation(token: str) -> User:
    """The invited account a link belongs to; refuses an expired, used, replaced or withdrawn invitation."""
    payload = tokens.read_token(
        tokens.INVITE_SALT, token, current_app.config["INVITATION_MAX_AGE"],
        _("This invitation has expired. Ask the person who invited you, or the programme office, to send a new one."),
    )
    user = db.session.get(User, payload.get("uid"))
    if user is None:
        raise tokens.TokenInvalid(_("This invitation is not valid."))
    if not user.is_active_account:
        raise tokens.TokenInvalid(_("This invitation was withdrawn. Contact the programme office if you think "
                                  "this is a mistake."))
    if not is_pending(user):
        raise tokens.TokenInvalid(_USED)
    if tokens.password_fingerprint(user.password_hash) != payload.get("pw"):
        raise tokens.TokenInvalid(_("A newer invitation was sent to you: use the link in the latest email."))
    return user


def accept_invitation(token: str, full_name: str, password: str) -> User:
    """Set the invitee's name and password and confirm their address (they read the email); the link then ends,
    also when it is submitted twice at the same moment (one conditional UPDATE on the invitation marker)."""
    user = user_for_invitation(token)
    full_name = full_name.strip()
    problem = password_problem(password, [user.email, full_name])
    if problem:
        raise DomainError(problem)
    marker = user.password_hash
    changed = cast(CursorResult[Any], db.session.execute(
        update(User).where(User.id == user.id, User.password_hash == marker, User.is_active_account.is_(True))
        .values(password_hash=hash_password(password), full_name=full_name, session_token=new_session_token(),
                email_confirmed_at=user.email_confirmed_at or utcnow(), last_login_at=utcnow())
        .execution_options(synchronize_session=False))).rowcount
    if not changed:
        raise tokens.TokenInvalid(_USED)
    db.session.refresh(user)
    record("auth.invitation_accepted", user, actor_id=user.id, roles=sorted(r.value for r in user.role_set))
    return user
