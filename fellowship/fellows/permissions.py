"""Who may see fellows and alumni: staff and admins; one loader per object kind."""

from __future__ import annotations

from flask import abort

from fellowship.auth.models import Role
from fellowship.extensions import db
from fellowship.fellows.models import Fellow

STAFF_ROLES = (Role.STAFF, Role.ADMIN)


def get_fellow_or_404(fellow_id: int) -> Fellow:
    """The fellow, for staff views (already behind roles_required(*STAFF_ROLES))."""
    fellow = db.session.get(Fellow, fellow_id)
    if fellow is None:
        abort(404)
    return fellow
