"""Fellowship: runs a fellowship programme for young environmental leaders, from call to alumni."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask, Response

from config import Config, config_from_environment
from fellowship.celery import celery_init_app
from fellowship.extensions import csrf, db, limiter, login_manager, migrate
from fellowship.forms import TextRequest

MIGRATIONS_DIR = str(Path(__file__).resolve().parent.parent / "migrations")


def create_app(config: str | Config | None = None, **overrides: Any) -> Flask:
    """Build the app from a config name or object (default: FELLOWSHIP_CONFIG), plus overrides."""
    app = Flask(__name__)
    app.request_class = TextRequest  # no NUL character reaches a form, a filter or the database
    config_obj = config if isinstance(config, Config) else config_from_environment(config)
    app.config.from_object(config_obj)
    app.config.update(overrides)
    if overrides.get("REDIS_URL") and "CELERY" not in overrides:
        app.config["CELERY"] = {**app.config["CELERY"], "broker_url": overrides["REDIS_URL"]}
    Path(app.config["INSTANCE_DIR"]).mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    register_proxy(app)
    register_extensions(app)
    celery_init_app(app)
    register_blueprints(app)
    register_security_headers(app)
    register_template_helpers(app)

    from fellowship.cli import register_cli
    from fellowship.errors import register_error_handlers

    register_error_handlers(app)
    from fellowship.api import init_api

    init_api(app)  # after the site's error handlers: the API's wrap them for paths under /api/
    register_cli(app)
    return app


def register_proxy(app: Flask) -> None:
    """Behind TRUSTED_PROXIES proxies, the client's address is the one they put in X-Forwarded-For (werkzeug's
    ProxyFix trusts exactly that many entries, so a client cannot choose its own): rate limits then count each
    client, not the load balancer. Only the address: the scheme and host stay as the proxy's request has them."""
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=0, x_host=0, x_port=0,  # type: ignore[method-assign]
                                x_prefix=0)


def register_extensions(app: Flask) -> None:
    from flask_babel import gettext

    from fellowship import i18n, transactions
    from fellowship.words import N_

    db.init_app(app)
    transactions.init_app(app, db)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    i18n.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = N_("Please log in to see that page.")
    login_manager.localize_callback = gettext  # flashed in the reader's language (the session stores plain text)
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"

    from fellowship.alumni.directory import load_account
    from fellowship.auth import sessions
    from fellowship.auth.models import User, user_id_of_session

    @login_manager.user_loader
    def load_user(session_id: str) -> User | None:
        # Every logged-in page's nav asks for the roles and whether the user is an alumnus: one query for all.
        user_id = user_id_of_session(session_id)
        user = load_account(user_id) if user_id is not None else None
        # A session or remember cookie issued before the account's session token last changed no longer works.
        return user if user is not None and user.holds_session(session_id) else None

    sessions.init_app(app)


#: Areas whose `views` modules hold routes; imported here (not by the packages) to keep imports acyclic.
VIEW_MODULES = ("main.views", "auth.views", "admin.views", "notifications.views", "calls.views", "applications.views",
                "applications.staff", "documents.views", "referees.views", "selection.panel_views",
                "selection.review_views", "selection.ranking_views", "selection.decision_views",
                "selection.stage_views", "selection.round_views", "fellows.views", "alumni.views",
                "alumni.dashboard_views", "i18n.views", "calls.translation_views", "interviews.views")
#: Every area's models, so the metadata (and Alembic) sees all tables.
MODEL_MODULES = ("auth.models", "auth.tokens", "audit.models", "notifications.models", "calls.models",
                 "applications.models", "selection.models", "fellows.models", "alumni.models", "health.models",
                 "questions.models", "interviews.models")
#: Modules with Celery tasks, imported so the worker registers them.
TASK_MODULES = ("notifications.tasks", "applications.tasks", "eligibility.tasks", "referees.tasks",
                "selection.decision_tasks", "selection.tasks", "alumni.tasks", "alumni.export_tasks",
                "interviews.tasks")


def register_blueprints(app: Flask) -> None:
    import importlib

    from fellowship import (
        admin,
        alumni,
        applications,
        auth,
        calls,
        documents,
        fellows,
        i18n,
        interviews,
        main,
        notifications,
        referees,
        selection,
    )

    for name in MODEL_MODULES:
        importlib.import_module(f"fellowship.{name}")
    for name in VIEW_MODULES:
        importlib.import_module(f"fellowship.{name}")
    for name in TASK_MODULES:
        importlib.import_module(f"fellowship.{name}")
    for blueprint in (main.bp, auth.bp, admin.bp, notifications.bp, calls.bp, applications.bp,
                      applications.staff_bp, documents.bp, referees.bp, selection.bp, fellows.bp, alumni.bp,
                      i18n.bp, interviews.bp):
        app.register_blueprint(blueprint)
    if app.config.get("MAIL_SINK_DIR") and (app.debug or app.testing):
        from fellowship import devtools
        from fellowship.devtools import views as _devtools_views  # noqa: F401

        app.register_blueprint(devtools.bp)


CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


def register_security_headers(app: Flask) -> None:
    @app.after_request
    def security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("X-Frame-Options", "DENY")
        if app.config.get("SESSION_COOKIE_SECURE"):
            headers.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
        return response


def register_template_helpers(app: Flask) -> None:
    from fellowship.auth.models import Role

    @app.context_processor
    def inject_globals() -> dict[str, Any]:
        return {"Role": Role, "dev_mail": "devtools" in app.blueprints}

    from flask_login import current_user

    from fellowship.calls.models import DEFAULT_TIME_ZONE, DocumentKind
    from fellowship.geo import country_name, region_name
    from fellowship.timezones import TIME_FORMAT, format_day, format_for_viewer, format_in_zone, format_month
    from fellowship.words import and_list, plural

    # Every time on a page is shown in the viewer's zone (theirs, else the programme's), the zone named:
    # `|datetime` where no programme is at hand, `|in_zone(programme_zone)` where one is; `|in_exact_zone(zone)` only
    # where a page deliberately shows one given zone (a call's deadline in the programme's own zone).
    @app.template_filter("datetime")
    def format_datetime(value: Any, fmt: str = TIME_FORMAT) -> str:
        return format_for_viewer(value, current_user, DEFAULT_TIME_ZONE, fmt)

    @app.template_filter("in_zone")
    def format_in_viewer_zone(value: Any, programme_zone: str | None = None, fmt: str = TIME_FORMAT) -> str:
        return format_for_viewer(value, current_user, programme_zone or DEFAULT_TIME_ZONE, fmt)

    app.add_template_filter(format_in_zone, "in_exact_zone")
    app.add_template_filter(format_day, "day")  # {{ follow_up.due_on|day }}: a calendar day in the page's language
    app.add_template_filter(format_month, "month")  # {{ career.start_date|month }}: "March 2027", "mars 2027"
    app.add_template_filter(lambda code: country_name(code) if code else "", "country_name")
    app.add_template_filter(region_name, "region_name")  # {{ "Africa"|region_name }}: the region in the reader's words
    app.add_template_filter(lambda kind: DocumentKind(kind).label, "document_label")
    app.add_template_filter(plural, "plural")  # {{ n|plural('referee') }}: "1 referee", "2 referees"
    # {{ roles|and_list }}: "staff and reviewer" in the page's language (Babel's list patterns, not a joined " and ").
    app.add_template_filter(lambda items: and_list([str(i) for i in items]), "and_list")
