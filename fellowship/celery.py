"""Celery wired to the Flask app, as in Flask's own Celery pattern: every task runs in an app context."""

from __future__ import annotations

from typing import Any

from celery import Celery, Task
from flask import Flask


def celery_init_app(app: Flask) -> Celery:
    class FlaskTask(Task):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(app.config["CELERY"])
    celery_app.set_default()
    app.extensions["celery"] = celery_app

    from fellowship.health.processes import install

    install(celery_app, app)  # heartbeats of worker and beat, one-line logs of broker outages
    return celery_app
