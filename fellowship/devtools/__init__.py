"""Development helpers: a local mail sink with a page to read what the system sent, and `flask dev`.

Registered only when MAIL_SINK_DIR is set (development); never part of a production app.
"""

from flask import Blueprint

bp = Blueprint("devtools", __name__, url_prefix="/dev")

