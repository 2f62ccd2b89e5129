"""Staff view of the outbox: what is waiting, what failed, and re-sending a failed message."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select

from fellowship.audit.services import record
from fellowship.auth.models import Role
from fellowship.auth.permissions import roles_required
from fellowship.errors import DomainError
from fellowship.extensions import db
from fellowship.notifications import bp, services
from fellowship.notifications.models import MessageStatus, OutboxMessage
from fellowship.pagination import paginate


@bp.route("/")
@roles_required(Role.STAFF, Role.ADMIN)
def index():
    status = request.args.get("status", MessageStatus.FAILED.value)
    if status not in {s.value for s in MessageStatus}:
        status = MessageStatus.FAILED.value
    stmt = (
        select(OutboxMessage.id, OutboxMessage.recipient, OutboxMessage.subject, OutboxMessage.status,
               OutboxMessage.attempts, OutboxMessage.last_error, OutboxMessage.created_at,
               OutboxMessage.sent_at, OutboxMessage.next_attempt_at)
        .where(OutboxMessage.status == MessageStatus(status))
        .order_by(OutboxMessage.id.desc())
    )
    return render_template("notifications/outbox.html", page=paginate(stmt), status=status,
                           counts=services.status_counts(), form=FlaskForm())


@bp.route("/<int:message_id>/resend", methods=["POST"])
@roles_required(Role.STAFF, Role.ADMIN)
def resend(message_id: int):
    message = db.get_or_404(OutboxMessage, message_id)
    if not FlaskForm().validate_on_submit():
        flash("The form expired; try again.", "error")
        return redirect(url_for("notifications.index"))
    try:
        services.resend(message)
    except DomainError as exc:
        flash(str(exc), "error")
    else:
        record("notifications.resent", message, recipient=message.recipient)
        db.session.commit()
        flash(f"The message to {message.recipient} is queued again.", "success")
    return redirect(url_for("notifications.index"))
