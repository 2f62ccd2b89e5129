"""Helpers for the race tests: real requests (or jobs) at the same moment, each with its own database connection.

A test client of the app opens each request in its own app context (tests/conftest.py FreshContextClient), so
each has its own session and connection, as under gunicorn. `at_once` releases threads together with a
barrier; `while_held` keeps one transaction open while another request runs, to make an interleaving certain.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from fellowship.errors import DomainError
from fellowship.extensions import db
from tests.conftest import csrf_token_from, login


def signed_in_clients(app: Flask, email: str, count: int,
                      page: str = "/applications/") -> tuple[list[FlaskClient], str]:
    """`count` clients sharing one signed-in session (one login: the login rate limit stays out of it)."""
    first = app.test_client()
    login(first, email)
    token = csrf_token_from(first.get(page).get_data(as_text=True))
    session_cookie = first.get_cookie("session")  # after the page: the session now holds the CSRF secret
    assert session_cookie is not None
    clients = [first]
    for _ in range(count - 1):
        other = app.test_client()
        other.set_cookie("session", session_cookie.value, domain=session_cookie.domain or "localhost")
        clients.append(other)
    return clients, token


def at_once(actions: list[Callable[[], Any]]) -> list[Any]:
    """Run the actions in threads released together by a barrier; their results (or exceptions), in order."""
    barrier = threading.Barrier(len(actions))
    results: list[Any] = [None] * len(actions)

    def run(index: int) -> None:
        try:
            barrier.wait(30)
            results[index] = actions[index]()
        except Exception as exc:  # noqa: BLE001 - a crash is a result the test asserts on
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(actions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads), "a request is still waiting (deadlock?)"
    return results


def held_open(app: Flask, work: Callable[[], Any]) -> tuple[threading.Thread, threading.Event, list[Any]]:
    """Run `work` in its own app context and keep its transaction open (flushed, not committed) until released.

    While it is held, another request or job runs against the same rows: on PostgreSQL it has to wait for this
    one to commit, or act on what it can see without it. Then this one commits.
    """
    done, release, result = threading.Event(), threading.Event(), []

    def run() -> None:
        with app.app_context():
            try:
                result.append(work())
                db.session.flush()
                done.set()
                release.wait(60)
                db.session.commit()
            except Exception as exc:  # noqa: BLE001 - asserted on by the test
                result.append(exc)
                done.set()
            finally:
                db.session.remove()

    thread = threading.Thread(target=run)
    thread.start()
    assert done.wait(60)
    return thread, release, result


def while_held(app: Flask, work: Callable[[], Any], other: Callable[[], Any]) -> tuple[Any, Any]:
    """`work` holds its transaction open while `other` starts; then `work` commits, and `other` finishes."""
    thread, release, held_result = held_open(app, work)
    other_result: list[Any] = []

    def run_other() -> None:
        try:
            other_result.append(other())
        except Exception as exc:  # noqa: BLE001 - asserted on by the test
            other_result.append(exc)

    other_thread = threading.Thread(target=run_other)
    other_thread.start()
    other_thread.join(1.0)  # it either finished without waiting, or waits on a lock `work` holds
    release.set()
    thread.join(60)
    other_thread.join(60)
    assert not thread.is_alive() and not other_thread.is_alive(), "still waiting (deadlock?)"
    return held_result[0], other_result[0]


def in_own_context(app: Flask, work: Callable[[], Any]) -> Callable[[], Any]:
    """`work` as another request would run it: its own app context and connection; commit, or the refusal's text."""

    def run() -> Any:
        with app.app_context():
            try:
                result = work()
                db.session.commit()
                return result
            except DomainError as exc:
                db.session.rollback()
                return f"refused: {exc}"
            finally:
                db.session.remove()

    return run


def count(model: Any, *conditions: Any) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*conditions)) or 0
