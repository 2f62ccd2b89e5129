"""Admin pages: accounts (invite, roles, deactivate, reactivate, password reset) and the audit log."""

from __future__ import annotations

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import func, select

from fellowship.admin import audit_log as log_pages
from fellowship.admin import bp
from fellowship.admin import services as admin_services
from fellowship.admin.forms import InviteForm
from fellowship.audit.models import AuditEntry
from fellowship.audit.services import audited_download
from fellowship.auth import services
from fellowship.auth.forms import RoleChangeForm
from fellowship.auth.invitations import is_pending
from fellowship.auth.models import Role, User
from fellowship.auth.permissions import roles_required
from fellowship.auth.sessions import keep_this_browser_logged_in
from fellowship.errors import DomainError
from fellowship.extensions import db
from fellowship.forms import field_for
from fellowship.pagination import paginate


@bp.route("/users")
@roles_required(Role.ADMIN)
def users():
    query = request.args.get("q", "").strip()
    page = paginate(services.users_query(query), scalars=True)
    return render_template("admin/users.html", page=page, query=query, form=RoleChangeForm(), roles=list(Role),
                           is_pending=is_pending)


def _back_to_users():
    return redirect(url_for("admin.users", q=request.args.get("q", "")))


@bp.route("/users/<int:user_id>/roles/<action>", methods=["POST"])
@roles_required(Role.ADMIN)
def change_role(user_id: int, action: str):
    if action not in ("grant", "revoke"):
        abort(404)
    user = db.get_or_404(User, user_id)
    form = RoleChangeForm()
    if not form.validate_on_submit():
        flash(_("Choose a role from the list."), "error")
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
        names = {"name": user.full_name, "role": role.label.lower()}
        if changed:
            message = (_("%(name)s now has the %(role)s role.", **names) if action == "grant"
                       else _("%(name)s no longer has the %(role)s role.", **names))
        else:
            message = (_("No change: %(name)s already had the %(role)s role.", **names) if action == "grant"
                       else _("No change: %(name)s did not have the %(role)s role.", **names))
        flash(message, "success" if changed else "info")
    return _back_to_users()


@bp.route("/users/invite", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def invite():
    form = InviteForm()
    if form.validate_on_submit():
        try:
            user = admin_services.invite_user(form.email.data or "", form.full_name.data or "",
                                              Role(form.role.data), by=current_user)
        except DomainError as exc:
            field_for(form, exc, default=form.email).errors.append(str(exc))
        else:
            db.session.commit()
            days = max(1, current_app.config["INVITATION_MAX_AGE"] // 86400)
            flash(ngettext("Invitation sent to %(name)s (%(email)s). The link works once, for %(num)d day.",
                           "Invitation sent to %(name)s (%(email)s). The link works once, for %(num)d days.",
                           days, name=user.full_name, email=user.email), "success")
            return redirect(url_for("admin.users", q=user.email))
    return render_template("admin/invite.html", form=form)


@bp.route("/users/<int:user_id>/deactivate", methods=["POST"])
@roles_required(Role.ADMIN)
def deactivate(user_id: int):
    user = db.get_or_404(User, user_id)  # the form is only a button: CSRFProtect has checked its token
    try:
        changed = admin_services.deactivate_user(user, by=current_user)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(_("%(name)s's account is deactivated: they are logged out everywhere and cannot log in.",
                name=user.full_name) if changed
              else _("No change: %(name)s's account was already deactivated.", name=user.full_name),
              "success" if changed else "info")
    return _back_to_users()


@bp.route("/users/<int:user_id>/reactivate", methods=["POST"])
@roles_required(Role.ADMIN)
def reactivate(user_id: int):
    user = db.get_or_404(User, user_id)
    changed = admin_services.reactivate_user(user, by=current_user)
    db.session.commit()
    flash(_("%(name)s's account is active again: they can log in with their password.", name=user.full_name)
          if changed else _("No change: %(name)s's account was already active.", name=user.full_name),
          "success" if changed else "info")
    return _back_to_users()


@bp.route("/users/<int:user_id>/password-reset", methods=["POST"])
@roles_required(Role.ADMIN)
def send_password_reset(user_id: int):
    user = db.get_or_404(User, user_id)
    pending_invitation = is_pending(user)
    try:
        admin_services.send_password_reset(user, by=current_user)
    except DomainError as exc:
        flash(str(exc), "error")
    else:
        db.session.commit()
        minutes = current_app.config["PASSWORD_RESET_MAX_AGE"] // 60
        flash(_("A new invitation was emailed to %(email)s; earlier links no longer work.", email=user.email)
              if pending_invitation
              else ngettext("A password reset link was emailed to %(email)s. It works once, within %(num)d minute.",
                            "A password reset link was emailed to %(email)s. It works once, within %(num)d minutes.",
                            minutes, email=user.email), "success")
    return _back_to_users()


@bp.route("/audit")
@roles_required(Role.ADMIN)
def audit_log():
    filters = log_pages.AuditFilters.from_args(request.args, current_user.time_zone)
    page = paginate(log_pages.page_query(filters), scalars=True,
                    count=filters.apply(select(func.count(AuditEntry.id))))
    link_args = filters.as_args()
    return render_template("admin/audit.html", page=page, entries=log_pages.describe_all(page.items),
                           filters=filters, link_args=link_args, focus=log_pages.focus(filters),
                           broad_args={k: v for k, v in link_args.items() if k not in ("actor_id", "object_id")},
                           action_choices=log_pages.action_choices(), object_kinds=log_pages.OBJECT_KINDS)


@bp.route("/audit.csv")
@roles_required(Role.ADMIN)
def export_audit_log():
    filters = log_pages.AuditFilters.from_args(request.args, current_user.time_zone)
    body = audited_download(log_pages.export_csv(filters), log_pages.export_entry(filters))
    return Response(body, mimetype="text/csv", content_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="audit-log.csv"',
                             "Cache-Control": "no-store"})
