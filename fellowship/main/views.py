"""Home page (with the background processing's health for staff), the health check, and the staff banner."""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template, request
from flask_login import current_user

from fellowship.alumni.followups import period_label
from fellowship.auth.models import Role
from fellowship.extensions import limiter
from fellowship.health import services as health
from fellowship.main import bp
from fellowship.main.home import home_for
from fellowship.timezones import time_left

STAFF = (Role.STAFF, Role.ADMIN)


def _is_staff() -> bool:
    return bool(current_user.is_authenticated and current_user.has_role(*STAFF))


@bp.app_context_processor
def _health_helpers() -> dict[str, Any]:
    """`health_problems()` for the banner in base.html (staff and admins only; the user is already loaded for the
    navigation, and the figures are cached in the process) and `task_health()` for the outbox page's block."""
    return {"health_problems": lambda: health.banner_health().problems() if _is_staff() else [],
            "task_health": lambda: health.read_health() if _is_staff() else None}


@bp.route("/")
def index():
    """Anonymous visitors get the welcome; a logged-in person each of their roles' pending work, with links."""
    home = home_for(current_user) if current_user.is_authenticated else None
    return render_template("main/index.html", home=home, health=health.read_health() if _is_staff() else None,
                           time_left=time_left, period_label=period_label)


@bp.route("/privacy")
def privacy():
    """The privacy notice applicants consent to when they submit (linked from the review-and-submit page)."""
    return render_template("main/privacy.html")


@bp.route("/healthz")
@limiter.exempt
def healthz():
    """Liveness of the web process; touches nothing else, so it is the baseline in benchmarks.

    `?deep=1` (for a monitor) also checks the database, Redis, the worker's and the beat's heartbeats and the
    outbox backlog: 503 naming what is stale, 200 with the figures otherwise.
    """
    if not request.args.get("deep"):
        return {"status": "ok"}
    report = health.deep_health()
    body = report.as_json()
    if report.stale:
        current_app.logger.warning("deep health check: stale %s", ", ".join(report.stale))
        return body, 503
    return body
