"""Sentences the system writes and stores for later readers (an eligibility rule's reason, a shortlist's or a
decision's reason when the system decided it): kept as a message key with its parameters and rendered in the
reader's language when shown, never stored as one language's sentence.

An area declares its sentences once as a `MessageCatalog` (key -> a function of the parameters that calls
gettext/ngettext, so `pybabel extract` finds the msgids there) and stores `message.to_json()`, `[key, params]`, in a
JSON column beside the English text it keeps for the record. Text typed by people (an override's reason) is stored
as typed and never goes through here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask_babel import force_locale
from markupsafe import escape

from fellowship.i18n.texts import SOURCE_LOCALE, LocalizedText, Texts


def _as_is(_name: str, value: Any) -> Any:
    return value


#: Every catalog's keys, so a template can show any stored message (`|stored_message`) without naming its catalog.
_BY_KEY: dict[str, MessageCatalog] = {}


def shown_message(stored: Any, fallback: str | None = None) -> str:
    """A stored message in the reader's language, whichever catalog it is from; else `fallback` (text as written).

    In templates: `{{ row.reason_message|stored_message(row.reason) }}`."""
    if isinstance(stored, list | tuple) and stored and isinstance(stored[0], str) and stored[0] in _BY_KEY:
        return _BY_KEY[stored[0]].shown(stored, fallback)
    return fallback or ""


class MessageCatalog:
    """The sentences of one area by key; `value` turns a stored parameter into what the reader reads (a country
    code into its name in their language), given the parameter's name and value."""

    def __init__(self, lines: Mapping[str, Callable[..., str]],
                 value: Callable[[str, Any], Any] = _as_is) -> None:
        self.lines, self.value = lines, value
        taken = set(lines) & set(_BY_KEY)
        if taken:  # a stored message names its sentence by key alone: keys are unique across catalogs
            raise ValueError(f"message keys already used by another catalog: {sorted(taken)}")
        _BY_KEY.update(dict.fromkeys(lines, self))

    def __call__(self, key: str, **params: Any) -> StoredMessage:
        return StoredMessage(self, key, params)

    def text(self, key: str, params: Mapping[str, Any]) -> str:
        """The sentence in the language being rendered."""
        return str(self.lines[key](**{name: self.value(name, value) for name, value in params.items()}))

    def load(self, stored: Any) -> StoredMessage | None:
        """A stored `[key, params]`, or None when it is not one of this catalog's (unknown key, empty)."""
        if isinstance(stored, list | tuple) and len(stored) == 2 and stored[0] in self.lines \
                and isinstance(stored[1], dict):
            return StoredMessage(self, stored[0], stored[1])
        return None

    def shown(self, stored: Any, fallback: str | None) -> str:
        """What a reader sees: the stored message in their language, else the text stored as written (rows from
        before messages were stored, or text a person typed)."""
        message = self.load(stored)
        return message.translated() if message is not None else (fallback or "")


class StoredMessage(LocalizedText):
    """One message with its parameters; as a str it reads in the language current when it was made, and an email
    queued with it (notifications.queue_email) is written in the recipient's language."""

    catalog: MessageCatalog
    key: str
    params: dict[str, Any]

    def __new__(cls, catalog: MessageCatalog, key: str, params: Mapping[str, Any]) -> StoredMessage:
        text = str.__new__(cls, catalog.text(key, params))
        text.texts = Texts()
        text.catalog, text.key, text.params = catalog, key, dict(params)
        return text

    def translated(self) -> str:
        """The message in the language being rendered now."""
        return self.catalog.text(self.key, self.params)

    def in_locale(self, locale: str | None) -> str:
        with force_locale(locale or SOURCE_LOCALE):
            return self.translated()

    def english(self) -> str:
        """The message in English, the source: what is kept for the record beside the message."""
        return self.in_locale(SOURCE_LOCALE)

    def __html__(self) -> str:
        return str(escape(self.translated()))

    def to_json(self) -> list[Any]:
        return [self.key, self.params]
