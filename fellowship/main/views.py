"""Home page and health check."""

from __future__ import annotations

from flask import render_template

from fellowship.extensions import limiter
from fellowship.main import bp


@bp.route("/")
def index():
    return render_template("main/index.html")


@bp.route("/healthz")
@limiter.exempt
def healthz():
    """Liveness of the web process; touches nothing else, so it is the baseline in benchmarks."""
    return {"status": "ok"}
