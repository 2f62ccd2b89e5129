"""The shipped catalogs compile and cover the journeys: every message used by the applicant, referee and alumnus
journeys is translated in fr, pt, es and ar; every message of the staff, reviewer and admin pages in ja.

Which journey a message belongs to is decided by where it is used: the `#:` source references of a fresh
extraction (pybabel extract, as `make translations` does). A message used in a file of JOURNEY_FILES belongs to
the applicant, referee and alumnus journeys; one used in a file of STAFF_FILES to the staff pages; one used in both
kinds of file to both. A file is matched by the longest prefix in either list (so `fellowship/templates/applications/
staff_` is staff although `fellowship/templates/applications/` is the applicant's); files in neither list (the
developers' mail viewer) belong to no journey. A translated message has a msgstr (every plural form) and no fuzzy flag.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

from tests.servers import ROOT

CATALOGS = ROOT / "fellowship" / "translations"
JOURNEY_LOCALES = ("fr", "pt", "es", "ar")
STAFF_LOCALES = ("ja",)

#: Files (path prefixes) of the applicant, referee and alumnus journeys, and what every page shares.
JOURNEY_FILES = (
    "fellowship/templates/base.html", "fellowship/templates/_forms.html", "fellowship/templates/_contact.html",
    "fellowship/templates/errors/", "fellowship/templates/main/", "fellowship/templates/auth/",
    "fellowship/templates/calls/open_calls.html", "fellowship/templates/calls/call_detail.html",
    "fellowship/templates/calls/_deadline.html", "fellowship/templates/applications/",
    "fellowship/templates/documents/", "fellowship/templates/referees/", "fellowship/templates/questions/",
    "fellowship/templates/eligibility/", "fellowship/templates/alumni/", "fellowship/templates/emails/",
    "fellowship/templates/interviews/book",
    "fellowship/auth/", "fellowship/applications/", "fellowship/documents/", "fellowship/referees/",
    "fellowship/questions/", "fellowship/eligibility/", "fellowship/alumni/", "fellowship/main/",
    "fellowship/i18n/", "fellowship/timezones.py", "fellowship/geo.py", "fellowship/forms.py", "fellowship/words.py",
    "fellowship/errors.py", "fellowship/navigation.py", "fellowship/pagination.py", "fellowship/__init__.py",
    # The API's docs page: public, and read by applicants who make a token on their profile as well as by staff.
    "fellowship/api/",
)
#: Files of the staff, reviewer and admin pages (more specific prefixes win over JOURNEY_FILES).
STAFF_FILES = (
    "fellowship/templates/admin/", "fellowship/templates/calls/", "fellowship/templates/selection/",
    "fellowship/templates/notifications/", "fellowship/templates/fellows/", "fellowship/templates/health/",
    "fellowship/templates/applications/staff_", "fellowship/templates/alumni/dashboard.html",
    "fellowship/templates/alumni/export", "fellowship/templates/emails/selection/assignment",
    "fellowship/templates/_filter_fields.html", "fellowship/templates/interviews/",
    "fellowship/admin/", "fellowship/calls/", "fellowship/selection/", "fellowship/notifications/",
    "fellowship/fellows/", "fellowship/health/", "fellowship/applications/staff", "fellowship/alumni/dashboard",
    "fellowship/alumni/export", "fellowship/spreadsheets.py", "fellowship/reports/", "fellowship/interviews/",
    "fellowship/audit/",
)


def kind_of(path: str) -> str | None:
    """"journey", "staff" or None for a source file, by the longest matching prefix."""
    best: tuple[int, str | None] = (0, None)
    for kind, prefixes in (("journey", JOURNEY_FILES), ("staff", STAFF_FILES)):
        for prefix in prefixes:
            if path.startswith(prefix) and len(prefix) > best[0]:
                best = (len(prefix), kind)
    return best[1]


def fresh_template(tmp_path: Path) -> Catalog:
    pot = tmp_path / "messages.pot"
    subprocess.run([str(ROOT / ".venv" / "bin" / "pybabel"), "--quiet", "extract", "-F", "babel.cfg", "-k", "_l",
                    "-k", "lazy_gettext", "-o", str(pot), "."], cwd=ROOT, check=True, capture_output=True)
    with pot.open("rb") as fh:
        return read_po(fh)


def messages_of(template: Catalog, kind: str) -> list[Message]:
    return [m for m in template if m.id and any(kind_of(path) == kind for path, _line in m.locations)]


def untranslated(locale: str, wanted: list[Message]) -> list[str]:
    with (CATALOGS / locale / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    missing = []
    for message in wanted:
        found = catalog.get(message.id, context=message.context)  # a pgettext message is found with its context
        strings = (found.string if isinstance(found.string, tuple | list) else (found.string,)) if found else ()
        if not found or found.fuzzy or not strings or not all(strings):
            missing.append(message.id if isinstance(message.id, str) else message.id[0])
    return missing


def test_the_catalogs_compile_with_statistics() -> None:
    result = subprocess.run([str(ROOT / ".venv" / "bin" / "pybabel"), "compile", "--statistics", "-d",
                             str(CATALOGS)], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    for locale in (*JOURNEY_LOCALES, *STAFF_LOCALES):
        assert (CATALOGS / locale / "LC_MESSAGES" / "messages.mo").exists(), locale


def test_every_source_file_with_messages_belongs_to_a_journey_or_the_staff_pages(tmp_path: Path) -> None:
    """A new area's files must be placed in JOURNEY_FILES or STAFF_FILES, or its messages would be checked nowhere."""
    template = fresh_template(tmp_path)
    developers_only = ("fellowship/templates/devtools/", "fellowship/devtools/")
    unplaced = sorted({path for m in template for path, _line in m.locations
                       if kind_of(path) is None and not path.startswith(developers_only)})
    assert not unplaced, "files with messages in no journey (add them to a list in this test):\n" + "\n".join(unplaced)


def test_the_applicant_referee_and_alumnus_journeys_are_fully_translated_in_fr_pt_es_and_ar(tmp_path: Path) -> None:
    wanted = messages_of(fresh_template(tmp_path), "journey")
    assert len(wanted) > 200, "the journeys' messages were found"
    report = {locale: untranslated(locale, wanted) for locale in JOURNEY_LOCALES}
    problems = [f"{locale}: {len(missing)} of {len(wanted)} untranslated, e.g. {missing[:5]}"
                for locale, missing in report.items() if missing]
    assert not problems, "journey messages without a translation:\n" + "\n".join(problems)


def test_the_staff_reviewer_and_admin_pages_are_fully_translated_in_japanese(tmp_path: Path) -> None:
    wanted = messages_of(fresh_template(tmp_path), "staff")
    assert len(wanted) > 100, "the staff pages' messages were found"
    missing = untranslated("ja", wanted)
    assert not missing, f"ja: {len(missing)} of {len(wanted)} staff messages untranslated, e.g. {missing[:10]}"
