"""Documents: uploads validated by content, kept behind a storage interface, served only to those allowed."""

from flask import Blueprint

bp = Blueprint("documents", __name__)

from fellowship.documents import views  # noqa: E402, F401
