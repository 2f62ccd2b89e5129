"""Alumni: follow-up surveys after return home, careers, outcome dashboards, the alumni directory."""

from flask import Blueprint

bp = Blueprint("alumni", __name__)
