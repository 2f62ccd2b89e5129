"""Builds a MIME message from an outbox row and hands it to the SMTP server."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from flask import current_app, render_template
from flask_babel import force_locale

from fellowship.notifications.models import OutboxMessage


def build_email(message: OutboxMessage) -> EmailMessage:
    """Plain-text and HTML parts from the message's templates and stored context, in the recipient's language."""
    context = dict(message.context or {})
    email = EmailMessage()
    email["Subject"] = message.subject
    email["From"] = current_app.config["MAIL_DEFAULT_SENDER"]
    email["To"] = message.recipient
    email["Date"] = formatdate(localtime=False, usegmt=True)
    email["Message-ID"] = message.message_id
    with force_locale(message.locale or "en"):
        email.set_content(render_text(message.template, context))
        email.add_alternative(render_template(f"emails/{message.template}.html", **context), subtype="html")
    # Text attachments stored with the message (an interview's .ics): the email is rebuilt the same on each attempt.
    for attachment in context.get("attachments") or ():
        maintype, _, subtype = str(attachment["content_type"]).partition("/")
        email.add_attachment(str(attachment["content"]).encode("utf-8"), maintype=maintype, subtype=subtype,
                             filename=str(attachment["filename"]))
    email["Content-Language"] = message.locale or "en"  # after the content: setting it clears Content-* headers
    return email


def render_text(template: str, context: dict[str, Any]) -> str:
    """The plain-text part: the message's own text, then the shared footer with the programme office's contact
    (the HTML part has it from emails/_layout.html), so no email can leave out how to reach the office."""
    body = render_template(f"emails/{template}.txt", **context).rstrip("\n")
    return body + "\n" + render_template("emails/_footer.txt").rstrip("\n") + "\n"


@contextmanager
def smtp_connection() -> Iterator[smtplib.SMTP]:
    """An open, authenticated SMTP connection; raises smtplib.SMTPException or OSError if none can be had.

    A failing QUIT is ignored: by then every message handed over was accepted or refused already.
    """
    config = current_app.config
    smtp = smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=config["MAIL_TIMEOUT"])
    try:
        if config["MAIL_USE_TLS"]:
            smtp.starttls()
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
        yield smtp
    finally:
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()

