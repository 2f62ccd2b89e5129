"""Referees: named by the applicant, invited by email, upload a letter through a single-use link."""

from flask import Blueprint

bp = Blueprint("referees", __name__)

