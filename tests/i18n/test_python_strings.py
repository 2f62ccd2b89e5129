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

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "fellowship"
#: Not shown to a user of the web pages: operator commands, the demo's own data (content, like any user's data)
#: and the developers' mail sink.
NOT_USER_FACING = ("cli.py", "demo.py", "devtools/")
GETTEXT_NAMES = {"_", "_l", "gettext", "lazy_gettext", "ngettext", "lazy_ngettext", "pgettext", "npgettext"}
KEYWORDS = {"_": None, "_l": None, "gettext": None, "lazy_gettext": None, "ngettext": (1, 2),
            "lazy_ngettext": (1, 2), "N_": None}
ERROR_CLASSES = {"DomainError", "TokenExpired", "TokenInvalid", "LoginRefused", "WrongCurrentPassword",
                 "FollowUpLinkProblem", "LetterLinkProblem", "ValidationError", "StopValidation", "InvalidDocument"}
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
