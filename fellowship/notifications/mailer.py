"""Builds a MIME message from an outbox row and hands it to the SMTP server."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import formatdate

from flask import current_app, render_template

from fellowship.notifications.models import OutboxMessage


def build_email(message: OutboxMessage) -> EmailMessage:
    """Plain-text and HTML parts rendered from the message's templates and stored context."""
    context = dict(message.context or {})
    email = EmailMessage()
    email["Subject"] = message.subject
    email["From"] = current_app.config["MAIL_DEFAULT_SENDER"]
    email["To"] = message.recipient
    email["Date"] = formatdate(localtime=False, usegmt=True)
    email["Message-ID"] = message.message_id
    email.set_content(render_template(f"emails/{message.template}.txt", **context))
    email.add_alternative(render_template(f"emails/{message.template}.html", **context), subtype="html")
    return email


def send_email(email: EmailMessage) -> None:
    """Deliver one message over SMTP; raises smtplib.SMTPException or OSError on failure."""
    config = current_app.config
    with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=config["MAIL_TIMEOUT"]) as smtp:
        if config["MAIL_USE_TLS"]:
            smtp.starttls()
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
        smtp.send_message(email)
