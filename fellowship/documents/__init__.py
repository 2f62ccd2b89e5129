"""Documents: uploads validated by content, kept behind a storage interface, served only to those allowed."""

import logging

from flask import Blueprint, current_app

from fellowship.documents.storage import StorageUnavailable
from fellowship.errors import RETRY_AFTER_SECONDS, render_error

bp = Blueprint("documents", __name__, cli_group="storage")  # `flask storage ...`
log = logging.getLogger(__name__)


@bp.app_errorhandler(StorageUnavailable)
def storage_unavailable(exc: StorageUnavailable):
    """The document store is down (or refuses): a clear page asking to come back, never a traceback. Views that
    can say more (an upload form) catch the error and show its message beside the field instead."""
    log.error("document store unavailable: %s", exc.cause or exc)
    response = current_app.make_response(render_error(503, message=str(exc)))
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


import fellowship.documents.cli  # noqa: E402,F401 - registers `flask storage` (after bp exists)
