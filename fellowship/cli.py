"""The project's `flask` commands: create-admin, seed-demo, dev."""

from __future__ import annotations

import os
from pathlib import Path

import click
from flask import Flask, current_app

from fellowship.auth.models import Role
from fellowship.auth.services import create_user
from fellowship.errors import DomainError
from fellowship.extensions import db


def register_cli(app: Flask) -> None:
    @app.cli.command("create-admin")
    @click.option("--email", prompt=True)
    @click.option("--name", prompt="Full name")
    @click.password_option()
    def create_admin(email: str, name: str, password: str) -> None:
        """Create a confirmed admin account (or make an existing account admin)."""
        try:
            user = create_user(email, name, password, {Role.ADMIN, Role.STAFF})
        except DomainError as exc:
            raise click.ClickException(str(exc)) from None
        db.session.commit()
        click.echo(f"{user.email} is an admin.")

    @app.cli.command("seed-demo")
    def seed_demo() -> None:
        """Load the demo data (idempotent)."""
        from fellowship.demo import load_demo_data

        logins = load_demo_data()
        db.session.commit()
        click.echo(f"Demo data loaded ({len(logins)} demo logins; calls and applications once).")

    @app.cli.command("dev")
    @click.option("--port", default=lambda: int(os.environ.get("PORT", "5000")), show_default="$PORT or 5000")
    @click.option("--mail-port", default=lambda: int(os.environ.get("MAIL_PORT", "8025")), show_default="8025")
    def dev(port: int, mail_port: int) -> None:
        """Run web, Celery worker, beat and a local mail sink together (development)."""
        from fellowship.demo import DEMO_ACCOUNTS, DEMO_PASSWORD
        from fellowship.devtools.runner import run_all

        instance = Path(current_app.config["INSTANCE_DIR"])
        logins = [(sorted(r.value for r in roles)[0], email, DEMO_PASSWORD) for email, _n, roles in DEMO_ACCOUNTS]
        logins.append(("alumnus", "alumnus@example.org", DEMO_PASSWORD))
        raise SystemExit(run_all(port=port, redis_url=current_app.config["REDIS_URL"], mail_port=mail_port,
                                 mail_dir=Path(current_app.config["MAIL_SINK_DIR"] or instance / "mail"),
                                 instance_dir=instance, logins=logins))
