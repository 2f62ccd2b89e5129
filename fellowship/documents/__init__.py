"""Documents: uploads validated by content, kept behind a storage interface, served only to those allowed."""

from flask import Blueprint

bp = Blueprint("documents", __name__)

