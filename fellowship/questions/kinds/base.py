"""The question kinds' shared interface: what every kind of question knows how to do with an answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l

from fellowship.models import LabelledEnum

if TYPE_CHECKING:
    from wtforms.fields.core import UnboundField

    from fellowship.questions.models import Question

#: One export column: its header, and how a stored answer becomes the cell's value.
ExportColumn = tuple[str, Callable[[Any], str | int | float | None]]


class QuestionKind(LabelledEnum):
    SHORT_TEXT = "short_text"
    LONG_TEXT = "long_text"
    NUMBER = "number"
    DATE = "date"
    SINGLE_CHOICE = "single_choice"
    MULTIPLE_CHOICE = "multiple_choice"
    YES_NO = "yes_no"
    COUNTRY = "country"
    LANGUAGE_LEVEL = "language_level"
    EMAIL = "email"
    URL = "url"
    FILE = "file"
    GROUP = "group"

    @classmethod
    def _labels(cls) -> dict[str, Any]:
        return {"short_text": _l("Short text"), "long_text": _l("Long text"), "number": _l("Number"),
                "date": _l("Date"), "single_choice": _l("Single choice"), "multiple_choice": _l("Multiple choice"),
                "yes_no": _l("Yes / no"), "country": _l("Country"), "language_level": _l("Language and level"),
                "email": _l("Email address"), "url": _l("Web address (URL)"), "file": _l("File upload"),
                "group": _l("Repeatable group")}


class AnswerError(ValueError):
    """An answer that cannot be kept; the message is written for beside the field."""

    def __init__(self, message: str) -> None:
        super().__init__(str(message))
        self.message = str(message)


class Kind:
    """One kind of question: validate, build its form field, show, export and facet an answer."""

    kind: QuestionKind
    #: A short description of the kind for the staff builder.
    description: Any = _l("A question")
    #: Whether the answer's values are stored as facets (what list filters join on).
    faceted: bool = False

    def validate(self, question: Question, value: Any) -> Any:
        """A value from a form (already coerced) or from JSON → the stored JSON value; raises AnswerError."""
        raise NotImplementedError

    def is_empty(self, value: Any) -> bool:
        """Whether the value counts as not answered."""
        return value is None or value == "" or value == [] or value == {}

    def form_field(self, question: Question, locale: str | None) -> UnboundField:
        """The WTForms field asking this question, label and help in the locale."""
        raise NotImplementedError

    def form_data(self, question: Question, value: Any) -> Any:
        """A stored value → the value the form field shows (its `data`)."""
        return value

    def display(self, question: Question, value: Any, locale: str | None) -> str:
        """The answer as read-only text."""
        return "" if self.is_empty(value) else str(value)

    def export_columns(self, question: Question, locale: str | None) -> list[ExportColumn]:
        """The export's columns for this question (one for most kinds)."""
        return [(question.key, lambda value: None if self.is_empty(value) else self.display(question, value,
                                                                                              locale))]

    def facet_values(self, question: Question, value: Any) -> list[str]:
        """The values list filters join on (none for kinds that are not faceted)."""
        return []

    def check_config(self, config: dict[str, Any]) -> dict[str, Any]:
        """The kind's configuration, checked; raises AnswerError for one staff cannot save."""
        return dict(config or {})

    def structural_config(self, config: dict[str, Any]) -> dict[str, Any]:
        """The part of the configuration that answers depend on (limits, values): frozen once locked."""
        return dict(config or {})
