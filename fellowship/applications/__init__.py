"""Applications: the applicant's multi-step form, submission, withdrawal, and the staff list."""

from flask import Blueprint

bp = Blueprint("applications", __name__, url_prefix="/applications")
#: Staff pages over all applications of a call (list, filters, export, eligibility overrides).
staff_bp = Blueprint("staff_applications", __name__, url_prefix="/staff")

