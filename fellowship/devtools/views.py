"""Development-only page listing the emails the local mail sink received."""

from __future__ import annotations

from pathlib import Path

from flask import current_app, render_template

from fellowship.devtools import bp
from fellowship.devtools.mailsink import read_messages


@bp.route("/mail")
def mail():
    folder = Path(current_app.config["MAIL_SINK_DIR"])
    return render_template("devtools/mail.html", messages=read_messages(folder), folder=folder)
