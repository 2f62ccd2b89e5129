"""Demo data for `make run`: one account per role. Loading it twice changes nothing."""

from __future__ import annotations

from fellowship.auth.models import Role
from fellowship.auth.services import create_user

DEMO_PASSWORD = "green-leaders-2026"  # noqa: S105 - published demo login, loaded only by seed-demo

DEMO_ACCOUNTS: list[tuple[str, str, set[Role]]] = [
    ("admin@example.org", "Ada Admin", {Role.ADMIN, Role.STAFF}),
    ("staff@example.org", "Sora Staff", {Role.STAFF}),
    ("reviewer@example.org", "Rin Reviewer", {Role.REVIEWER}),
    ("applicant@example.org", "Amani Applicant", {Role.APPLICANT}),
]


def load_demo_data() -> list[tuple[str, str, str]]:
    """Create the demo accounts if missing; returns (role, email, password) for the start banner."""
    logins = []
    for email, name, roles in DEMO_ACCOUNTS:
        create_user(email, name, DEMO_PASSWORD, roles)
        main_role = sorted(r.value for r in roles)[0]
        logins.append((main_role, email, DEMO_PASSWORD))
    return logins
