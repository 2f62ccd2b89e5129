"""Staff view of the outbox: what is waiting, what failed, and re-sending failed ones (one, or all a filter matches)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select

from fellowship.audit.services import record
from fellowship.auth.models import Role
from fellowship.auth.permissions import roles_required
from fellowship.errors import DomainError
from fellowship.extensions import db
from fellowship.forms import FellowshipForm
from fellowship.notifications import bp, services
from fellowship.notifications.forms import failed_filter_form
from fellowship.notifications.models import MessageStatus, OutboxMessage
from fellowship.pagination import paginate


@bp.route("/")
@roles_required(Role.STAFF, Role.ADMIN)
def index():
    status = request.args.get("status", MessageStatus.FAILED.value)
    if status not in {s.value for s in MessageStatus}:
        status = MessageStatus.FAILED.value
    conditions = [OutboxMessage.status == MessageStatus(status)]
    filter_form = None
    recipient = request.args.get("recipient", "").strip()[:254]
    if status == MessageStatus.FAILED.value:
        filter_form = failed_filter_form(request.args)
        if filter_form.validate():
            conditions = filter_form.filters().conditions()
    else:
        by_recipient = services.recipient_condition(recipient)
        if by_recipient is not None:
            conditions.append(by_recipient)
    stmt = (
        select(OutboxMessage.id, OutboxMessage.recipient, OutboxMessage.subject, OutboxMessage.status,
               OutboxMessage.attempts, OutboxMessage.last_error, OutboxMessage.created_at,
               OutboxMessage.sent_at, OutboxMessage.next_attempt_at)
        .where(*conditions)
        .order_by(OutboxMessage.id.desc())
    )
    return render_template("notifications/outbox.html", page=paginate(stmt), status=status, recipient=recipient,
                           counts=services.status_counts(), form=FellowshipForm(), filter_form=filter_form)


@bp.route("/<int:message_id>")
@roles_required(Role.STAFF, Role.ADMIN)
def message(message_id: int):
    """One message: to whom, what, where its delivery stands, and its text as the recipient reads it."""
    outbox_message = db.get_or_404(OutboxMessage, message_id)
    return render_template("notifications/message.html", message=outbox_message, form=FellowshipForm(),
                           text=services.readable_text(outbox_message))


@bp.route("/resend-failed")
@roles_required(Role.STAFF, Role.ADMIN)
def confirm_resend_failed():
    """The bulk re-send's confirmation: how many failed messages the filters match."""
    filter_form = failed_filter_form(request.args)
    if not filter_form.validate():
        flash(_("The filters are not valid; check them and try again."), "error")
        return redirect(url_for("notifications.index", status="failed"))
    filters = filter_form.filters()
    return render_template("notifications/resend_failed.html", count=services.count_failed(filters),
                           filters=filters, args=filter_form.args(), form=FellowshipForm())


@bp.post("/resend-failed")
@roles_required(Role.STAFF, Role.ADMIN)
def resend_failed():
    """Re-send every failed message the filters match, decided by one conditional UPDATE."""
    filter_form = failed_filter_form(request.form)
    if not filter_form.validate():
        flash(_("The filters are not valid; check them and try again."), "error")
        return redirect(url_for("notifications.index", status="failed"))
    if not FellowshipForm().validate_on_submit():
        flash(_("The form expired; try again."), "error")
        return redirect(url_for("notifications.index", status="failed", **filter_form.args()))  # type: ignore[arg-type]
    count = services.resend_failed_by_staff(filter_form.filters())
    db.session.commit()
    if not count:
        flash(_("No failed message matches these filters any more; nothing was re-sent."), "info")
        return redirect(url_for("notifications.index", status="failed"))
    flash(ngettext("%(num)d failed message is queued again; each is sent once.",
                   "%(num)d failed messages are queued again; each is sent once.", count), "success")
    return redirect(url_for("notifications.index", status="pending"))


@bp.route("/<int:message_id>/resend", methods=["POST"])
@roles_required(Role.STAFF, Role.ADMIN)
def resend(message_id: int):
    message = db.get_or_404(OutboxMessage, message_id)
    if not FellowshipForm().validate_on_submit():
        flash(_("The form expired; try again."), "error")
        return redirect(url_for("notifications.index"))
    try:
        services.resend(message)
    except DomainError as exc:
        flash(str(exc), "error")
    else:
        record("notifications.resent", message, recipient=message.recipient)
        db.session.commit()
        flash(_("The message to %(recipient)s is queued again.", recipient=message.recipient), "success")
    return redirect(url_for("notifications.index"))
