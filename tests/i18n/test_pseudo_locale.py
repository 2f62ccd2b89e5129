"""No string left unmarked: every page of every role (the accessibility crawl's list, on the demo data) rendered in a
pseudo-locale whose catalog wraps each message in ⟦…⟧; any visible text outside the markers that is not data fails.

The pseudo catalog is built at test time from a fresh extraction (pybabel extract, as `make translations` does), so
a string marked in the code but missing from the committed .pot still counts, and nothing stale hides one. The
pseudo-locale is `en_001` (English as CLDR writes it for the world): dates and numbers format as in English, so what
is left outside markers is either data or a string nobody marked.

Data, allowed outside markers: every string value stored in the database (names, emails, references, titles,
answers, the questionnaire's texts), the configured programme contact, country, region, language and time-zone names
(Babel's locale data, translated by Babel, not by our catalogs), dates, times, numbers and punctuation; and any element
marked `data-data` (the language switcher's names, each in itself).
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask
from flask_babel import force_locale

from fellowship import i18n
from fellowship.extensions import db, limiter
from tests.browser.test_accessibility_crawl import LOGINS, seed_demo, targets
from tests.servers import ROOT
from tests.snapshots import TableSnapshot

PSEUDO = "en_001"
OPEN, CLOSE = "⟦", "⟧"
#: Visible text that is neither a message nor data: the brand.
BRAND = ("Fellowship",)
MONTHS = ("January February March April May June July August September October November December "
          "Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec Monday Tuesday Wednesday Thursday Friday Saturday Sunday")
DATA_PATTERNS = [
    re.compile(r"\b[A-Z][A-Za-z_]+/[A-Za-z_/+\-]+\b"),  # an IANA time zone (Asia/Tokyo)
    re.compile(r"\b(?:" + "|".join(MONTHS.split()) + r")\b"),
    re.compile(r"\b(?:[A-Z]{2,5}|UTC[+-]?\d*|GMT[+-]?\d*|[AP]M)\b"),  # zone abbreviations (JST), AM/PM
    re.compile(r"[+-]\d{2}(?::?\d{2})?"),
    re.compile(r"[\d.,:%/×\-–—+]+"),
]
SKIPPED_TAGS = {"script", "style", "template"}
#: A "%" that starts no placeholder and is not "%%" (a message to be written with "%%").
BARE_PERCENT = re.compile(r"(?<!%)%(?![%(sd])")
VISIBLE_ATTRIBUTES = ("aria-label", "placeholder", "alt", "title")
#: Elements that sit inside a sentence: a message may hold one as a placeholder ("Write to %(name)s at %(email)s." with
#: the address a link), so their text joins the text around them instead of being judged apart.
INLINE_TAGS = {"a", "abbr", "b", "bdi", "bdo", "br", "cite", "code", "em", "i", "kbd", "mark", "q", "s", "small",
               "span", "strong", "sub", "sup", "time", "u", "wbr"}


def build_pseudo_catalog(directory: Path) -> int:
    """Extract every message and write a `PSEUDO` catalog with each one wrapped in markers; the number of messages."""
    pot = directory / "messages.pot"
    subprocess.run([str(ROOT / ".venv" / "bin" / "pybabel"), "--quiet", "extract", "-F", "babel.cfg", "-k", "_l",
                    "-k", "lazy_gettext", "-o", str(pot), "."], cwd=ROOT, check=True, capture_output=True)
    with pot.open("rb") as fh:
        template = read_po(fh)
    catalog = Catalog(locale=PSEUDO)
    for message in template:
        if not message.id or any(BARE_PERCENT.search(i) for i in (message.id if isinstance(message.id, tuple | list)
                                                                   else (message.id,))):
            continue  # a lone "%" breaks formatting once wrapped: left untranslated, the page reports it unmarked
        if isinstance(message.id, tuple | list):
            string: Any = tuple(f"{OPEN}{form}{CLOSE}" for form in (message.id[0], message.id[1]))
        else:
            string = f"{OPEN}{message.id}{CLOSE}"
        catalog.add(message.id, string, flags=message.flags, context=message.context)  # pgettext keeps its context
    target = directory / PSEUDO / "LC_MESSAGES"
    target.mkdir(parents=True)
    with (target / "messages.mo").open("wb") as fh:
        write_mo(fh, catalog)
    return len(catalog)


@pytest.fixture(scope="session")
def pseudo_catalog(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """The pseudo catalog's folder and its number of messages, extracted once a session (pybabel extract reads the
    whole source tree: a few seconds, for each of the tests that use it)."""
    directory = tmp_path_factory.mktemp("pseudo-catalog")
    return directory, build_pseudo_catalog(directory)


@pytest.fixture
def pseudo_locale(app: Flask, pseudo_catalog: tuple[Path, int], monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """The app also reads the pseudo catalog, and accepts `PSEUDO` as a language (from the cookie)."""
    directory, count = pseudo_catalog
    directories = app.extensions["babel"].translation_directories
    directories.append(str(directory))
    monkeypatch.setattr(i18n, "LOCALES", (*i18n.LOCALES, PSEUDO))
    try:
        yield count
    finally:
        directories.remove(str(directory))


def database_strings() -> set[str]:
    """Every string value stored in the database (JSON values flattened): the data pages show."""
    found: set[str] = set()

    def collect(value: Any) -> None:
        if isinstance(value, str):
            if value.strip():
                found.add(value.strip())
        elif isinstance(value, dict):
            for item in value.values():
                collect(item)
        elif isinstance(value, list | tuple):
            for item in value:
                collect(item)

    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            for row in conn.execute(sa.select(table)):
                for value in row:
                    if isinstance(value, str) and value[:1] in "[{":
                        with contextlib.suppress(ValueError):
                            value = json.loads(value)
                    collect(value)
    return found


class VisibleText(HTMLParser):
    """The texts a reader sees or hears (runs of text with their inline elements, and labels in attributes), outside
    elements marked data-data."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []
        self.texts: list[str] = []
        self.run: list[str] = []

    def flush(self) -> None:
        if "".join(self.run).strip():
            self.texts.append("".join(self.run))
        self.run = []

    def close(self) -> None:
        super().close()
        self.flush()

    def hidden(self) -> bool:
        return any(skip for _tag, skip in self.stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in INLINE_TAGS:
            self.flush()
        names = dict(attrs)
        skip = tag in SKIPPED_TAGS or "data-data" in names or names.get("translate") == "no"
        if not skip and not self.hidden():
            self.texts.extend(v for k, v in attrs if k in VISIBLE_ATTRIBUTES and v)
            if tag == "input" and names.get("type") in ("submit", "button") and names.get("value"):
                self.texts.append(str(names["value"]))
        if tag not in ("input", "br", "img", "meta", "link", "hr", "source", "col", "wbr"):
            self.stack.append((tag, skip))

    def handle_endtag(self, tag: str) -> None:
        if tag not in INLINE_TAGS:
            self.flush()
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                break

    def handle_data(self, data: str) -> None:
        if not self.hidden():
            self.run.append(data)


def unmarked(text: str, data: list[str]) -> str:
    """What is left of `text` outside markers once data, dates and numbers are taken out ('' when nothing)."""
    rest, inner = text, re.compile(f"{OPEN}[^{OPEN}{CLOSE}]*{CLOSE}")
    while inner.search(rest):  # innermost first: a message may hold another as a placeholder
        rest = inner.sub(" ", rest)
    for value in data:  # longest first, so a whole name goes before a part of it
        if value in rest:
            rest = rest.replace(value, " ")
    for pattern in DATA_PATTERNS:
        rest = pattern.sub(" ", rest)
    rest = re.sub(r"[^\w]+", " ", rest).strip()
    return rest if re.search(r"[^\W\d_]{2,}", rest) else ""


def test_every_page_of_every_role_has_no_visible_text_outside_markers_but_data(app: Flask, pseudo_locale: int,
                                                                              demo_snapshot: TableSnapshot) -> None:
    from fellowship.demo import DEMO_PASSWORD
    from fellowship.geo import REGIONS, country_choices, region_name
    from fellowship.i18n import language_name
    from fellowship.timezones import zone_names
    from tests.conftest import login

    assert pseudo_locale > 300, "the extraction found the app's messages"
    ids = seed_demo(app, demo_snapshot)
    pages = targets(ids)
    with app.app_context():
        data = database_strings()
    for locale in ("en", PSEUDO):  # country, region and language names come from Babel's data for the page's language
        with app.test_request_context(), force_locale(locale):
            data.update(name for _code, name in country_choices())
            data.update(region_name(region) for region in REGIONS)
            data.update(language_name(code) for code in i18n.LOCALES)
    data.update(zone_names())
    data.update(str(app.config[key]) for key in ("PROGRAMME_CONTACT_NAME", "PROGRAMME_CONTACT_EMAIL"))
    data.update(BRAND)
    ordered = sorted(data, key=len, reverse=True)
    logins = {**LOGINS, "offered": ids["offered_email"]}
    problems: list[str] = []
    rendered = 0
    for role in dict.fromkeys(t.role for t in pages):
        client = app.test_client()
        client.set_cookie("locale", PSEUDO)
        if role != "anonymous":
            with app.app_context():
                limiter.reset()
            assert login(client, logins[role], DEMO_PASSWORD).status_code == 302, f"{role} could not log in"
        for target in (t for t in pages if t.role == role):
            try:
                response = client.get(target.path)
            except Exception as exc:  # noqa: BLE001 - one broken page is reported with the others, not alone
                problems.append(f"{role} {target.name} ({target.path}): the page failed: {exc!r}")
                continue
            if response.status_code in (301, 302, 303):  # a link that redirects (a used confirmation) is no page
                continue
            html = response.get_data(as_text=True)
            if 'lang="en-001"' not in html and 'lang="en_001"' not in html:
                problems.append(f"{role} {target.name}: not in the pseudo-locale (HTTP {response.status_code})")
                continue
            rendered += 1
            parser = VisibleText()
            parser.feed(html)
            parser.close()
            for text in parser.texts:
                left = unmarked(" ".join(text.split()), ordered)
                if left:
                    problems.append(f"{role} {target.name} ({target.path}): {' '.join(text.split())[:120]!r}")
    assert rendered > 50, "the pages were rendered"
    unique = list(dict.fromkeys(problems))
    assert not unique, f"{len(unique)} visible texts outside gettext markers (not data):\n" + "\n".join(unique[:300])
