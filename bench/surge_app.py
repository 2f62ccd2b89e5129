"""The production app plus one bench-only endpoint, for `make bench-surge`: gunicorn serves `bench.surge_app:app`.

`/bench/write` is the bare write the surge's steps are compared with: GET gives a CSRF token, POST checks it
(the app's CSRFProtect, as every form), inserts one row into `bench_writes` (a table the bench creates in its own
throwaway database) and commits. It exists only in this module, never in the production routes.
"""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask_wtf.csrf import generate_csrf
from sqlalchemy import text

from fellowship import create_app
from fellowship.extensions import db

bench_bp = Blueprint("bench", __name__)


@bench_bp.get("/bench/write")
def write_token():
    return jsonify(csrf_token=generate_csrf())


@bench_bp.post("/bench/write")
def write():
    db.session.execute(text("INSERT INTO bench_writes (payload, created_at) VALUES (:p, now())"),
                       {"p": "surge"})
    db.session.commit()
    return "", 204


app = create_app()
app.register_blueprint(bench_bp)
