"""Selection: conflicts of interest, assignment, reviews, normalised scores, ranking with quotas, decisions."""

from flask import Blueprint

bp = Blueprint("selection", __name__)
