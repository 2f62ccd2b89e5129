"""Programmes and calls: staff create and edit them; applicants see the open ones."""

from flask import Blueprint

bp = Blueprint("calls", __name__)

from fellowship.calls import views  # noqa: E402, F401
