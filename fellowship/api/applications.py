"""Applications and their answers: staff with applications:read see every one; an applicant's token only theirs."""

from __future__ import annotations

from flask_smorest import Blueprint

blp = Blueprint("api_applications", __name__, url_prefix="/api/v1/applications",
                description="Applications and their answers (scope applications:read).")
