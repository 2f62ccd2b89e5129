"""Programmes and calls: staff create and edit them; applicants see the open ones."""

from flask import Blueprint

bp = Blueprint("calls", __name__)

