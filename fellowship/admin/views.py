"""Admin pages: grant and revoke roles, read the audit log."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from fellowship.admin import bp
from fellowship.audit.models import AuditEntry
from fellowship.auth import services
from fellowship.auth.forms import RoleChangeForm
from fellowship.auth.models import Role, User
from fellowship.auth.permissions import roles_required
from fellowship.auth.sessions import keep_this_browser_logged_in
from fellowship.errors import DomainError
from fellowship.extensions import db
from fellowship.pagination import paginate


@bp.route("/users")
@roles_required(Role.ADMIN)
def users():
    query = request.args.get("q", "").strip()
    page = paginate(services.users_query(query), scalars=True)
    return render_template("admin/users.html", page=page, query=query, form=RoleChangeForm(), roles=list(Role))


@bp.route("/users/<int:user_id>/roles/<action>", methods=["POST"])
@roles_required(Role.ADMIN)
def change_role(user_id: int, action: str):
    if action not in ("grant", "revoke"):
        abort(404)
    user = db.get_or_404(User, user_id)
    form = RoleChangeForm()
    if not form.validate_on_submit():
        flash("Choose a role from the list.", "error")
        return redirect(url_for("admin.users"))
    role = Role(form.role.data)
    try:
        if action == "grant":
            changed = services.grant_role(user, role)
        else:
            changed = services.revoke_role(user, role, acting_user=current_user)
    except DomainError as exc:
        flash(str(exc), "error")
    else:
        db.session.commit()
        if changed and action == "revoke" and user.id == current_user.id:
            keep_this_browser_logged_in(user)  # revoking ends the account's sessions; not the admin's own here
        verb = "now has" if action == "grant" else "no longer has"
        flash(f"{user.full_name} {verb} the {role.value} role." if changed
              else f"No change: {user.full_name} {'already had' if action == 'grant' else 'did not have'} "
                   f"the {role.value} role.", "success" if changed else "info")
    return redirect(url_for("admin.users", q=request.args.get("q", "")))


@bp.route("/audit")
@roles_required(Role.ADMIN)
def audit_log():
    stmt = select(AuditEntry).options(joinedload(AuditEntry.actor)).order_by(AuditEntry.id.desc())
    action = request.args.get("action", "").strip()
    if action:
        stmt = stmt.where(AuditEntry.action.startswith(action, autoescape=True))
    return render_template("admin/audit.html", page=paginate(stmt, scalars=True), action=action)
