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

    _survive_broker_loss_with_unacked_messages()
    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(app.config["CELERY"])
    celery_app.set_default()
    app.extensions["celery"] = celery_app

    from fellowship.health.processes import install

    install(celery_app, app)  # heartbeats of worker and beat, one-line logs of broker outages
    return celery_app


def _survive_broker_loss_with_unacked_messages() -> None:
    """Keep the worker alive when Redis dies while it holds an unacknowledged message (kombu 5.7, celery#10205).

    On a lost connection, celery closes it; the closed channel then still tries to reach Redis (to restore the
    messages it had not acknowledged, or to acknowledge a task that finished meanwhile: any task running at
    that instant is enough, with acks_late), through a transport already detached from its connection. kombu
    raises AttributeError there, which celery deems unrecoverable: the worker exits. Raising redis's own
    ConnectionError instead lets kombu and celery treat it as the connection error it is (ignored while closing,
    "couldn't ack" logged) and reconnect. Messages not restored or acknowledged stay in Redis's unacked set and
    come back after the visibility timeout if Redis kept them; if it lost them, the outbox rows still say what
    is unsent, and the sweep dispatches it.
    """
    from kombu.transport import redis as kombu_redis
    from redis.exceptions import ConnectionError as RedisConnectionError

    original = kombu_redis.Channel._connparams
    if getattr(original, "raises_connection_error_when_detached", False):
        return

    def _connparams(self: Any, asynchronous: bool = False) -> Any:
        if self.connection is None or self.connection.client is None:
            raise RedisConnectionError("the broker connection of this channel is closed")
        return original(self, asynchronous=asynchronous)

    _connparams.raises_connection_error_when_detached = True  # type: ignore[attr-defined]
    kombu_redis.Channel._connparams = _connparams  # type: ignore[method-assign]
