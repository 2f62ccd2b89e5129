"""Fellows: the accepted applicants who took the offer, while in Japan, until they return home."""

from flask import Blueprint

bp = Blueprint("fellows", __name__)
