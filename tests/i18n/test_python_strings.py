"""Every user-facing string in the Python code is a message for the catalogs (issue 16 item 1, the Python part).

The source is read as a syntax tree: flash messages, domain errors, form labels, hints, choices and validator
messages, page titles and export headers must be gettext calls on literal whole sentences (placeholders as
%(name)s, never an f-string or pieces glued together), so `pybabel extract` finds each one and a translator sees
the whole sentence. A pseudo-locale catalog (each message wrapped in ⟦ ⟧) then shows them translated on pages.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from babel.messages.extract import extract_from_dir

from tests.i18n.test_pseudo_locale import CLOSE, OPEN, PSEUDO
from tests.i18n.test_pseudo_locale import pseudo_catalog as pseudo_catalog  # the fixtures, used by name
from tests.i18n.test_pseudo_locale import pseudo_locale as pseudo_locale

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "fellowship"
#: Not shown to a user of the web pages: operator commands, the demo's own data (content, like any user's data)
#: and the developers' mail sink.
NOT_USER_FACING = ("cli.py", "demo.py", "devtools/")
GETTEXT_NAMES = {"_", "_l", "gettext", "lazy_gettext", "ngettext", "lazy_ngettext", "pgettext", "npgettext"}
KEYWORDS = {"_": None, "_l": None, "gettext": None, "lazy_gettext": None, "ngettext": (1, 2),
            "lazy_ngettext": (1, 2), "N_": None}
ERROR_CLASSES = {"DomainError", "TokenExpired", "TokenInvalid", "LoginRefused", "WrongCurrentPassword",
                 "FollowUpLinkProblem", "LetterLinkProblem", "ValidationError", "StopValidation", "InvalidDocument",
                 "DeadlinePassed", "DeclarationsMissing", "StructureLocked", "AnswerError", "EntryErrors"}
VALIDATORS = {"Length", "DataRequired", "InputRequired", "Email", "EqualTo", "NumberRange", "Regexp", "URL", "AnyOf",
              "NoneOf", "FileRequired", "FileAllowed", "FileSize"}
#: Keyword arguments of form fields and validators that users read.
READ_KEYWORDS = {"label", "description", "message", "placeholder"}


def python_modules() -> list[Path]:
    return sorted(path for path in PACKAGE.rglob("*.py")
                  if not any(part in path.relative_to(PACKAGE).as_posix() for part in NOT_USER_FACING))


def _name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _is_plain_text(node: ast.AST | None) -> bool:
    """A literal with words in it, an f-string, or text glued together: English that no catalog can hold."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return bool(re.search(r"[A-Za-z]{2}", node.value))
    if isinstance(node, ast.JoinedStr):
        return any(_is_plain_text(part) for part in node.values if isinstance(part, ast.Constant))
    if isinstance(node, ast.IfExp):
        return _is_plain_text(node.body) or _is_plain_text(node.orelse)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
        return _is_plain_text(node.left) or _is_plain_text(node.right)
    if isinstance(node, ast.Call) and _name(node.func) in {"format", "join"}:
        return _is_plain_text(getattr(node.func, "value", None))
    return False


def unmarked_strings(path: Path) -> list[str]:
    """Each place in `path` where a user-facing sentence is not a gettext message: 'file:line: text'."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []

    def report(node: ast.AST) -> None:
        text = ast.unparse(node)
        found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {text[:90]}")

    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _name(node.func)
        if name in GETTEXT_NAMES:
            # A message is a literal: an f-string or glued pieces are never in the catalog (a name is allowed: it
            # holds a message marked elsewhere with N_, such as an email's context translated in the email).
            if node.args and isinstance(node.args[0], (ast.JoinedStr, ast.BinOp, ast.Call)):
                report(node)
            continue
        candidates: list[ast.AST] = []
        if name == "flash" or name in ERROR_CLASSES or name.endswith("Field"):
            candidates += node.args[:1]
        if name == "FieldError" or name == "FellowFieldError":
            candidates += node.args[1:2]
        if name.endswith("Field") or name in VALIDATORS:
            candidates += [kw.value for kw in node.keywords if kw.arg in READ_KEYWORDS]
        if name in VALIDATORS:  # the message may be positional; a field name or pattern comes first in some
            candidates += node.args[1:] if name in {"EqualTo", "Regexp", "FileAllowed"} else node.args
        if name.endswith("Field"):
            for kw in node.keywords:
                # Enum.choices() translates when called: built with a form class at import, it stays English.
                if kw.arg == "choices" and isinstance(kw.value, ast.Call) and _name(kw.value.func) == "choices":
                    report(kw.value)
                if kw.arg == "choices" and isinstance(kw.value, (ast.List, ast.Tuple)):
                    candidates += [elt.elts[1] for elt in kw.value.elts
                                   if isinstance(elt, ast.Tuple) and len(elt.elts) == 2]
        for candidate in candidates:
            if _is_plain_text(candidate):
                report(candidate)
    return found


def extracted_messages() -> set[str]:
    messages: set[str] = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
            str(PACKAGE), method_map=[("**.py", "python")], keywords=KEYWORDS):
        messages.update(message if isinstance(message, tuple) else (message,))
    return messages


def test_flashes_errors_and_form_texts_in_python_are_gettext_messages():
    unmarked = [place for path in python_modules() for place in unmarked_strings(path)]
    assert not unmarked, "user-facing English outside gettext:\n" + "\n".join(unmarked)


def test_every_enum_label_is_a_message_the_catalogs_extract(app_ctx):
    from fellowship.calls.models import DegreeLevel, DocumentKind
    from fellowship.models import LabelledEnum

    messages = extracted_messages()

    def subclasses(cls: type) -> list[type]:
        return [sub for direct in cls.__subclasses__() for sub in (direct, *subclasses(direct))]

    labels = {(enum_cls.__name__, member.label) for enum_cls in subclasses(LabelledEnum) for member in enum_cls}
    labels |= {(kind.__name__, member.label) for kind in (DegreeLevel, DocumentKind) for member in kind}
    cefr_codes = {"A1", "A2", "B1", "B2", "C1", "C2"}  # read the same in every language
    missing = sorted(pair for pair in labels if pair[1] not in messages and pair[1] not in cefr_codes)
    assert len(labels) > 80
    assert not missing, f"enum labels no catalog holds: {missing}"


def test_every_counted_word_of_the_templates_is_a_plural_message():
    from fellowship.words import COUNTED_WORDS

    used = {match for template in (PACKAGE / "templates").rglob("*.*")
            for match in re.findall(r"plural\(['\"]([^'\"]+)['\"]", template.read_text())}
    assert not used - set(COUNTED_WORDS), f"|plural words without a plural message: {used - set(COUNTED_WORDS)}"
    messages = extracted_messages()
    assert {"%(num)d referee", "%(num)d referees"} <= messages


# --- Shown translated: the pseudo-locale wraps each message in ⟦ ⟧ ------------------------------------------------

def wrapped(text: str) -> str:
    return f"{OPEN}{text}{CLOSE}"


def test_form_labels_hints_flashes_and_domain_errors_are_shown_in_the_readers_language(client, app_ctx,
                                                                                        pseudo_locale):
    from tests.conftest import submit_form
    from tests.factories import UserFactory

    user = UserFactory()
    client.set_cookie("locale", PSEUDO)
    register = client.get("/auth/register").get_data(as_text=True)
    assert wrapped("Full name") in register and wrapped("Create account") in register
    # A hint with a placeholder, built at import time (lazy): the number is put into the translated sentence.
    assert wrapped("At least 8 characters; a few unrelated words are easy to remember and hard to guess.") in register
    refused = submit_form(client, "/auth/login", {"email": user.email, "password": "not-the-password"})
    assert wrapped("Wrong email or password.") in refused.get_data(as_text=True)  # a domain error beside the form
    page = client.get("/applications/", follow_redirects=True).get_data(as_text=True)
    assert wrapped("Please log in to see that page.") in page  # Flask-Login's flash


def test_error_pages_speak_the_readers_language(client, app_ctx, pseudo_locale):
    client.set_cookie("locale", PSEUDO)
    page = client.get("/no-such-page")
    assert page.status_code == 404
    html = page.get_data(as_text=True)
    assert wrapped("Not found") in html and wrapped("There is nothing here, or you do not have access to it.") in html


def test_enum_labels_counts_and_choices_are_translated_when_read(app_ctx, pseudo_locale):
    from flask_babel import force_locale

    from fellowship.applications.models import ApplicationStatus, Sector
    from fellowship.auth.forms import RoleChangeForm
    from fellowship.words import plural

    choices = Sector.lazy_choices()  # built before any language is chosen, as form classes are
    with force_locale(PSEUDO):
        assert ApplicationStatus.ACCEPTED.label == wrapped("Offer made")
        assert [str(label) for _value, label in choices][1] == wrapped("NGO / civil society")
        assert plural(1, "referee") == wrapped("1 referee") and plural(3, "referee") == wrapped("3 referees")
        assert wrapped("Reviewer") in str(RoleChangeForm(meta={"csrf": False}).role)
    assert ApplicationStatus.ACCEPTED.label == "Offer made"  # the value's English label outside that language
    assert ApplicationStatus.ACCEPTED.value == "accepted"


def test_audit_log_sentences_and_export_header_are_translated(app_ctx, pseudo_locale):
    from flask_babel import force_locale

    from fellowship.admin.audit_log import AuditFilters, describe_all, export_csv, page_query
    from fellowship.audit.services import record
    from fellowship.extensions import db
    from tests.factories import UserFactory

    user = UserFactory(full_name="Aiko Admin")
    record("auth.password_changed", user, actor_id=user.id)
    db.session.flush()
    entries = db.session.scalars(page_query(AuditFilters())).unique().all()
    with force_locale(PSEUDO):
        sentences = [described.sentence for described in describe_all(entries)]
        header = next(export_csv(AuditFilters())).decode("utf-8-sig").splitlines()[0]
    assert f"{OPEN}Aiko Admin changed their password{CLOSE}" in sentences  # the name inside the translated sentence
    assert header.startswith(f"{wrapped('When (UTC)')},{wrapped('Who')},")


def test_country_and_region_names_come_from_babel_in_the_readers_language(app_ctx):
    from flask_babel import force_locale

    from fellowship.geo import country_choices, country_name, region_name

    with force_locale("fr"):
        assert country_name("CI") == "Côte d’Ivoire" and region_name("Africa") == "Afrique"
        assert ("DE", "Allemagne") in country_choices()
    with force_locale("ja"):
        assert region_name("Asia") == "アジア"
    assert country_name("DE") == "Germany" and region_name("Africa") == "Africa"
