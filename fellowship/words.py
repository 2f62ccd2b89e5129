"""Small helpers that put numbers into words for people, in the reader's language."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from babel.lists import format_list
from flask_babel import get_locale, ngettext

#: Every counted word the pages use, each a plural message of its own so that the catalogs hold both forms (and
#: the language's other plural forms: Arabic has six) — "%(num)d referee" / "%(num)d referees".
COUNTED_WORDS: dict[str, Callable[[int], str]] = {
    "application": lambda n: ngettext("%(num)d application", "%(num)d applications", n),
    "candidate": lambda n: ngettext("%(num)d candidate", "%(num)d candidates", n),
    "decision": lambda n: ngettext("%(num)d decision", "%(num)d decisions", n),
    "document": lambda n: ngettext("%(num)d document", "%(num)d documents", n),
    "item": lambda n: ngettext("%(num)d item", "%(num)d items", n),
    "letter": lambda n: ngettext("%(num)d letter", "%(num)d letters", n),
    "more place": lambda n: ngettext("%(num)d more place", "%(num)d more places", n),
    "more referee": lambda n: ngettext("%(num)d more referee", "%(num)d more referees", n),
    "other application": lambda n: ngettext("%(num)d other application", "%(num)d other applications", n),
    "place": lambda n: ngettext("%(num)d place", "%(num)d places", n),
    "proposed application": lambda n: ngettext("%(num)d proposed application", "%(num)d proposed applications", n),
    "referee": lambda n: ngettext("%(num)d referee", "%(num)d referees", n),
    "review": lambda n: ngettext("%(num)d review", "%(num)d reviews", n),
}


def N_(message: str) -> str:  # noqa: N802 - the name pybabel extracts by default
    """Marks `message` for the catalogs without translating it: it is translated where it is shown (an email's
    context keeps the English message, and the email, rendered in the recipient's language, translates it)."""
    return message


def or_list(items: Sequence[str]) -> str:
    """"PDF, JPEG or PNG" in the reader's language (Babel's list patterns; English as the pages always wrote it)."""
    return _listed(items, "or")


def and_list(items: Sequence[str]) -> str:
    """"a score for “Impact” and a recommendation" in the reader's language, as `or_list`."""
    return _listed(items, "and")


def _listed(items: Sequence[str], word: str) -> str:
    if not items:
        return ""
    locale = get_locale()
    if locale is None or locale.language == "en":
        return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" {word} " + items[-1]
    return format_list(list(items), style="or" if word == "or" else "standard", locale=locale)


def plural(count: int, word: str, plural_form: str | None = None) -> str:
    """"1 referee", "2 referees", translated; `word` is one of COUNTED_WORDS (the `|plural` filter's argument).

    A word not in COUNTED_WORDS is put together in English ("1 person", "2 people" with the given plural form);
    tests/i18n/test_python_strings.py fails on any template using such a word.
    """
    counted = COUNTED_WORDS.get(word)
    if counted is not None:
        return counted(count)
    return f"{count} {word if count == 1 else (plural_form or word + 's')}"
