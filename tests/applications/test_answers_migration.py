"""Migration 0014 moves every application's answers from columns into the questionnaire engine's answer sets, on a
database of its own: applications in every state at revision 0013, upgraded, read back from the new storage and on
the applicant's, the staff's and the reviewer's pages, then downgraded with the columns given back."""

from __future__ import annotations

import html
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_migrate import downgrade, upgrade

from fellowship.applications.models import ApplicationStatus
from fellowship.extensions import db, limiter
from tests.conftest import login, make_app
from tests.factories import password_hash
from tests.scratch_databases import scratch_database

#: The columns that move into answer sets, and the profile columns that stay (copies of tagged answers).
MOVED = ("phone", "degree_subject", "graduation_year", "current_position", "employer", "sector", "years_experience",
         "field_description", "preferred_host", "study_plan", "leadership_plan", "motivation", "english_level",
         "japanese_level", "language_test")
KEPT = ("given_name", "family_name", "date_of_birth", "gender", "nationality", "country_of_residence",
        "highest_degree", "institution", "environmental_field")
SECTORS = ("government", "ngo", "academia", "private", "international_organisation", "other")
LEVELS = ("A1", "A2", "B1", "B2", "C1", "C2", "native", "none")


@pytest.fixture
def scratch_database_url(database_url: str, tmp_root: Path) -> Iterator[str]:
    with scratch_database(database_url, tmp_root, "fellowship_migration_0014") as url:
        yield url


def _row(n: int, status: ApplicationStatus) -> dict[str, Any]:
    """Every column of one application at revision 0013, each value its own (so a mix-up shows)."""
    return {
        "given_name": f"Given{n}", "family_name": f"Family{n}", "search_name": f"given{n} family{n}",
        "date_of_birth": date(1990 + n % 10, 1 + n % 12, 1 + n), "gender": ("female", "male", "non_binary")[n % 3],
        "nationality": ("KE", "VN", "NG")[n % 3], "country_of_residence": ("KE", "JP", "GH")[n % 3],
        "region": ("Africa", "Asia", "Africa")[n % 3], "phone": f"+254 700 00{n:04d}",
        "highest_degree": ("bachelor", "master", "doctorate")[n % 3], "degree_subject": f"Hydrology {n}",
        "institution": f"University {n}", "graduation_year": 2010 + n, "current_position": f"Officer {n}",
        "employer": f"Ministry {n}", "sector": SECTORS[n % len(SECTORS)], "years_experience": n % 20,
        "environmental_field": ("water", "energy", "biodiversity")[n % 3],
        "field_description": f"Field work number {n} " * 10, "preferred_host": f"Kyoto {n}",
        "study_plan": f"Study plan {n} " * 60, "leadership_plan": f"Leadership {n} " * 60,
        "motivation": f"Motivation essay {n} with an apostrophe's & ampersand " * 25,
        "english_level": LEVELS[n % len(LEVELS)], "japanese_level": LEVELS[(n + 3) % len(LEVELS)],
        "language_test": f"IELTS {5 + n % 4}.5",
        "status": status.value,
        "reference": None if status is ApplicationStatus.DRAFT else f"ELF-2026-{n:05d}",
    }


def _stored(column: str, value: Any) -> Any:
    """A column's value as the engine stores the answer."""
    return value.isoformat() if isinstance(value, date) else value


def _insert_at_0013(conn: sa.Connection) -> tuple[dict[int, dict[str, Any]], dict[str, int], int]:
    """A programme, a call under review, staff, a reviewer, and one application per status; returns the
    applications' values by id, the ids of the people, and the call's id."""
    now = datetime.now(UTC).replace(tzinfo=None)
    people = {}
    for email, role in (("staff@example.org", "staff"), ("reviewer@example.org", "reviewer")):
        people[role] = _user(conn, email, role)
    conn.execute(sa.text("INSERT INTO programmes (name, description, time_zone, followup_months) "
                         "VALUES ('ELF', 'Programme', 'Asia/Tokyo', '[6, 12]')"))
    programme_id = conn.execute(sa.text("SELECT id FROM programmes")).scalar_one()
    conn.execute(sa.text(
        "INSERT INTO calls (programme_id, title, year, description, opens_at, closes_at, status, places, "
        "eligible_countries, required_documents, references_required, reference_prefix, "
        "reviewers_per_application, blind_review, same_nationality_conflict) VALUES (:p, 'Call 2026', 2026, 'd', "
        ":opens, :closes, 'reviewing', 10, '[]', '[]', 0, 'ELF', 1, false, false)"),
        {"p": programme_id, "opens": now - timedelta(days=60), "closes": now - timedelta(days=5)})
    call_id = conn.execute(sa.text("SELECT id FROM calls")).scalar_one()
    rows = {}
    for n, status in enumerate(ApplicationStatus, start=1):
        values = _row(n, status)
        applicant_id = _user(conn, f"applicant{n}@example.org", "applicant")
        columns = ", ".join(values)
        conn.execute(sa.text(f"INSERT INTO applications (call_id, applicant_id, {columns}) "  # noqa: S608
                             f"VALUES (:call_id, :applicant_id, {', '.join(':' + c for c in values)})"),
                     {"call_id": call_id, "applicant_id": applicant_id, **values})
        application_id = conn.execute(sa.text("SELECT id FROM applications WHERE applicant_id = :a"),
                                      {"a": applicant_id}).scalar_one()
        conn.execute(sa.text("INSERT INTO assignments (call_id, application_id, reviewer_id, status, due_at, "
                             "assigned_at) VALUES (:c, :a, :r, 'active', :due, :now)"),
                     {"c": call_id, "a": application_id, "r": people["reviewer"], "due": now + timedelta(days=9),
                      "now": now})
        rows[application_id] = {**values, "applicant_email": f"applicant{n}@example.org"}
    return rows, people, call_id


def _user(conn: sa.Connection, email: str, role: str) -> int:
    conn.execute(sa.text("INSERT INTO users (email, full_name, password_hash, is_active_account, session_token, "
                         "email_confirmed_at) VALUES (:e, :n, :h, true, :t, :now)"),
                 {"e": email, "n": email.split("@")[0].title(), "h": password_hash(), "t": email + "-token",
                  "now": datetime.now(UTC).replace(tzinfo=None)})
    user_id = conn.execute(sa.text("SELECT id FROM users WHERE email = :e"), {"e": email}).scalar_one()
    conn.execute(sa.text("INSERT INTO user_roles (user_id, role) VALUES (:u, :r)"), {"u": user_id, "r": role})
    return int(user_id)


def _answers_in_new_storage(conn: sa.Connection, response_id: int) -> tuple[dict[str, Any], set[int]]:
    found: dict[str, Any] = {}
    versions = set()
    for data, version in conn.execute(sa.text("SELECT data, questionnaire_version FROM answer_sets "
                                              "WHERE response_id = :r"), {"r": response_id}):
        found.update(data if isinstance(data, dict) else __import__("json").loads(data))
        versions.add(version)
    return found, versions


def _shows(page: str, value: Any) -> bool:
    return html.escape(str(value), quote=False) in html.unescape(page) or str(value) in html.unescape(page)


def test_upgrade_moves_every_answer_into_answer_sets_the_pages_show_them_and_downgrade_gives_them_back(
        app: Flask, app_settings: dict[str, Any], scratch_database_url: str):
    scratch = make_app({**app_settings, "SQLALCHEMY_DATABASE_URI": scratch_database_url})
    with scratch.app_context():
        try:
            upgrade(revision="0013")
            with db.engine.begin() as conn:
                rows, _people, call_id = _insert_at_0013(conn)
            assert {row["status"] for row in rows.values()} == {s.value for s in ApplicationStatus}

            upgrade(revision="0014")
            with db.engine.connect() as conn:
                columns = {c["name"] for c in sa.inspect(conn).get_columns("applications")}
                assert not set(MOVED) & columns and set(KEPT) <= columns and "response_id" in columns
                form_id = conn.execute(sa.text("SELECT questionnaire_id FROM calls WHERE id = :c"),
                                       {"c": call_id}).scalar_one()
                keys = set(conn.execute(sa.text("SELECT key FROM questions WHERE questionnaire_id = :q"),
                                        {"q": form_id}).scalars())
                assert set(MOVED) | set(KEPT) <= keys
                for application_id, row in rows.items():
                    app_row = conn.execute(sa.text("SELECT * FROM applications WHERE id = :a"),
                                           {"a": application_id}).mappings().one()
                    answers, versions = _answers_in_new_storage(conn, app_row["response_id"])
                    expected = {key: _stored(key, row[key]) for key in (*MOVED, *KEPT)}
                    assert answers == expected, f"application {application_id} ({row['status']})"
                    assert versions == {1}
                    assert app_row["given_name"] == row["given_name"] and app_row["nationality"] == row["nationality"]
                    facets = set(conn.execute(sa.text(
                        "SELECT q.key, f.value FROM answer_facets f JOIN questions q ON q.id = f.question_id "
                        "WHERE f.response_id = :r"), {"r": app_row["response_id"]}).all())
                    assert {("nationality", row["nationality"]), ("sector", row["sector"]),
                            ("english_level", row["english_level"]), ("gender", row["gender"])} <= facets

            upgrade()  # the pages run on the current schema
            db.session.remove()
            _check_pages(scratch, rows)

            downgrade(revision="0013")
            with db.engine.connect() as conn:
                columns = {c["name"] for c in sa.inspect(conn).get_columns("applications")}
                assert set(MOVED) <= columns and "response_id" not in columns
                for application_id, row in rows.items():
                    back = conn.execute(sa.text("SELECT * FROM applications WHERE id = :a"),
                                        {"a": application_id}).mappings().one()
                    for key in (*MOVED, *KEPT):
                        value = back[key]
                        if isinstance(row[key], date) and not isinstance(value, date):
                            value = date.fromisoformat(str(value)[:10])
                        assert value == row[key], f"{key} of application {application_id}"
                assert conn.execute(sa.text("SELECT count(*) FROM responses")).scalar_one() == 0
                assert conn.execute(sa.text("SELECT count(*) FROM questionnaires")).scalar_one() == 0
        finally:
            db.session.remove()
            db.engine.dispose()
            limiter.init_app(app)  # the one Limiter keeps the storage of the last app set up
            # Tasks called by name run in the current (else default) Celery app: the last one made, the scratch one's.
            app.extensions["celery"].set_current()
            app.extensions["celery"].set_default()


def _check_pages(scratch: Flask, rows: dict[int, dict[str, Any]]) -> None:
    """The applicant's section pages, the staff detail page and the reviewer's page show the migrated answers."""
    staff, reviewer = scratch.test_client(), scratch.test_client()
    assert login(staff, "staff@example.org").status_code == 302
    assert login(reviewer, "reviewer@example.org").status_code == 302
    for application_id, row in rows.items():
        applicant = scratch.test_client()
        assert login(applicant, row["applicant_email"]).status_code == 302
        personal = applicant.get(f"/applications/{application_id}/sections/personal").get_data(as_text=True)
        motivation = applicant.get(f"/applications/{application_id}/sections/motivation").get_data(as_text=True)
        assert _shows(personal, row["phone"]) and _shows(personal, row["given_name"])
        assert 'value="1990' in personal or row["date_of_birth"].isoformat() in personal
        assert _shows(motivation, row["motivation"].strip())

        detail = staff.get(f"/staff/applications/{application_id}").get_data(as_text=True)
        for key in ("phone", "degree_subject", "employer", "preferred_host", "language_test", "given_name"):
            assert _shows(detail, row[key]), f"staff page lacks {key} of {row['status']}"
        assert _shows(detail, row["motivation"].strip())
        assert _shows(detail, str(row["graduation_year"]))

    with scratch.app_context():
        assignments = dict(db.session.execute(sa.text("SELECT application_id, id FROM assignments")).all())
    for application_id, row in rows.items():
        if row["status"] in ("draft", "withdrawn"):
            continue  # a reviewer reads submitted files only
        page = reviewer.get(f"/review/assignments/{assignments[application_id]}").get_data(as_text=True)
        for key in ("degree_subject", "employer", "preferred_host"):
            assert _shows(page, row[key]), f"reviewer page lacks {key} of {row['status']}"
        assert _shows(page, row["study_plan"].strip())
