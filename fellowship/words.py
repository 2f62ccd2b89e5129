"""Small helpers that put numbers into words for people."""

from __future__ import annotations


def plural(count: int, word: str, plural_form: str | None = None) -> str:
    """"1 referee", "2 referees" (or the given plural form: "1 person", "2 people")."""
    return f"{count} {word if count == 1 else (plural_form or word + 's')}"
