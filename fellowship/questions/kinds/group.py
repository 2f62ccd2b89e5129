"""A repeatable group (education, work history, publications): a list of entries, each answering the sub-questions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from wtforms import FieldList, Form, FormField

from fellowship.questions.kinds.base import AnswerError, ExportColumn, Kind, QuestionKind
from fellowship.questions.kinds.common import text_in, text_now

if TYPE_CHECKING:
    from wtforms.fields.core import UnboundField

    from fellowship.questions.models import Question


class EntryErrors(AnswerError):
    """Some entries' answers cannot be kept: `details` maps (entry index, sub-question key) to the message."""

    def __init__(self, message: str, details: dict[tuple[int, str], str]) -> None:
        super().__init__(message)
        self.details = details


class Group(Kind):
    kind = QuestionKind.GROUP
    description = _l("A repeatable group of questions (education, work history, publications)")

    def limits(self, question: Question) -> tuple[int, int | None]:
        config = question.config or {}
        high = config.get("max_entries")
        return int(config.get("min_entries") or 0), (int(high) if high else None)

    def validate(self, question: Question, value: Any) -> Any:
        from fellowship.questions.kinds import KINDS

        if value is None or value == [] or value == "":
            return None
        if not isinstance(value, list) or not all(isinstance(entry, dict) for entry in value):
            raise AnswerError(_("Fill in the entries of this group."))
        entries: list[dict[str, Any]] = []
        details: dict[tuple[int, str], str] = {}
        known = {child.key for child in question.children}
        for index, entry in enumerate(value):
            if set(entry) - known:
                raise AnswerError(_("Fill in the entries of this group."))
            kept: dict[str, Any] = {}
            for child in question.children:
                try:
                    stored = KINDS[child.kind].validate(child, entry.get(child.key))
                except AnswerError as exc:
                    details[(index, child.key)] = exc.message
                    continue
                if not KINDS[child.kind].is_empty(stored):
                    kept[child.key] = stored
            if kept or any((index, key) in details for key in known):
                entries.append(kept)  # an entry left wholly blank is dropped
        if details:
            (index, key), message = next(iter(details.items()))
            label = next(text_now(c.label) for c in question.children if c.key == key)
            raise EntryErrors(_("Entry %(num)d, %(label)s: %(message)s", num=index + 1, label=label,
                                message=message), details)
        _low, high = self.limits(question)
        if high is not None and len(entries) > high:
            raise AnswerError(ngettext("Give at most %(num)d entry.", "Give at most %(num)d entries.", high))
        return entries or None

    def entry_problems(self, question: Question, value: Any) -> str | None:
        """What a kept list still needs (too few entries, an entry's required answer), or None."""
        from fellowship.questions.kinds import KINDS

        entries = value if isinstance(value, list) else []
        low, _high = self.limits(question)
        if len(entries) < low:
            return ngettext("Give at least %(num)d entry.", "Give at least %(num)d entries.", low)
        for index, entry in enumerate(entries):
            for child in question.children:
                if child.required and KINDS[child.kind].is_empty(entry.get(child.key)):
                    return _("Entry %(num)d: answer “%(label)s”.", num=index + 1, label=text_now(child.label))
        return None

    def entry_form_class(self, question: Question, locale: str | None) -> type[Form]:
        """A sub-form with one field per sub-question (no CSRF of its own: the section form carries it)."""
        from fellowship.questions.kinds import KINDS

        fields = {child.key: KINDS[child.kind].form_field(child, locale) for child in question.children}
        return type(f"Entry_{question.key}", (Form,), fields)

    def form_field(self, question: Question, locale: str | None) -> UnboundField:
        low, _high = self.limits(question)
        return FieldList(FormField(self.entry_form_class(question, locale)), min_entries=max(low, 1),
                         label=text_in(question.label, locale), description=text_in(question.help_text, locale))

    def form_data(self, question: Question, value: Any) -> Any:
        from fellowship.questions.kinds import KINDS

        if not isinstance(value, list):
            return []
        return [{child.key: KINDS[child.kind].form_data(child, entry.get(child.key)) for child in question.children}
                for entry in value]

    def display(self, question: Question, value: Any, locale: str | None) -> str:
        count = len(value) if isinstance(value, list) else 0
        return ngettext("%(num)d entry", "%(num)d entries", count) if count else ""

    def display_rows(self, question: Question, value: Any, locale: str | None) -> list[list[tuple[str, str]]]:
        """Each entry as (sub-question label, answer text) pairs."""
        from fellowship.questions.kinds import KINDS

        return [[(text_in(child.label, locale), KINDS[child.kind].display(child, entry.get(child.key), locale))
                 for child in question.children]
                for entry in (value if isinstance(value, list) else [])]

    def export_columns(self, question: Question, locale: str | None) -> list[ExportColumn]:
        # The entries go to a sheet of their own (exports.group_sheets); the main sheet counts them.
        return [(f"{question.key}_count", lambda value: len(value) if isinstance(value, list) else 0)]

    def check_config(self, config: dict[str, Any]) -> dict[str, Any]:
        low, high = config.get("min_entries"), config.get("max_entries")
        for limit in (low, high):
            if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 0):
                raise AnswerError(_("The number of entries is a whole number."))
        if low and high and low > high:
            raise AnswerError(_("The minimum number of entries is more than the maximum."))
        return dict(config)
