"""Staff forms of the application-form builder: sections, questions with their kind-specific settings, moves,
removals, the copy from an earlier call, and the preview's navigation."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import AnyOf, DataRequired, Length, NumberRange, Optional, Regexp, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from fellowship.calls.models import DocumentKind
from fellowship.forms import FellowshipForm
from fellowship.geo import is_country
from fellowship.questions.kinds import QuestionKind

#: A question's or a section's key: the answer's JSON key, the export column, part of no sentence.
KEY_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
KEY_MESSAGE = _l("Lower-case letters, digits and _ only, starting with a letter (at most 40).")
#: The file types a file question may accept (what document storage checks by content).
FILE_TYPES = (("pdf", "PDF"), ("jpeg", "JPEG"), ("png", "PNG"))
#: Kinds whose answer is one of a known list of values: what a condition can compare with.
CHOICE_KINDS = (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE)
#: Which of the editor's settings each kind uses (the page shows only these; the others are ignored on save).
SETTINGS: dict[QuestionKind, tuple[str, ...]] = {
    QuestionKind.SHORT_TEXT: ("max_length",),
    QuestionKind.LONG_TEXT: ("min_words", "max_words"),
    QuestionKind.NUMBER: ("number_min", "number_max", "integer"),
    QuestionKind.DATE: ("date_min", "date_max", "min_years_ago", "max_years_ago"),
    QuestionKind.SINGLE_CHOICE: ("choices",),
    QuestionKind.MULTIPLE_CHOICE: ("choices", "min_chosen", "max_chosen"),
    QuestionKind.YES_NO: (),
    QuestionKind.COUNTRY: ("countries_only",),
    QuestionKind.LANGUAGE_LEVEL: ("language", "scale"),
    QuestionKind.EMAIL: (),
    QuestionKind.URL: (),
    QuestionKind.FILE: ("document_kind", "file_types", "max_mb"),
    QuestionKind.GROUP: ("min_entries", "max_entries"),
}

#: Every kind-specific setting of the editor.
ALL_SETTINGS = frozenset(name for names in SETTINGS.values() for name in names)


def kind_choices(*, in_group: bool = False) -> list[tuple[str, Any]]:
    """Every kind as (value, label); a group's sub-question cannot itself be a group."""
    return [(k.value, k.lazy_label) for k in QuestionKind if not (in_group and k is QuestionKind.GROUP)]


class CheckboxesField(SelectMultipleField):
    """Several choices as a list of checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class SectionForm(FellowshipForm):
    """A section's title and introduction (its key is made from the title when it is added)."""

    title = StringField(_l("Section title"), validators=[DataRequired(message=_l("Give the section a title.")),
                                                        Length(max=200)])
    description = TextAreaField(_l("Introduction (optional)"), validators=[Optional(), Length(max=4000)],
                                description=_l("Shown under the section's title, above its questions."))
    submit = SubmitField(_l("Save section"))


class NewSectionForm(SectionForm):
    submit = SubmitField(_l("Add section"))


class MoveForm(FellowshipForm):
    """Move a section or a question one place up (-1) or down (+1)."""

    offset = IntegerField(validators=[DataRequired(), AnyOf([-1, 1])])


class ConfirmForm(FellowshipForm):
    """The confirmation of a removal."""

    submit = SubmitField(_l("Remove"))


class CopyForm(FellowshipForm):
    """Replace this call's form by a copy of an earlier call's."""

    source_call_id = SelectField(_l("Copy the form of an earlier call"), coerce=int,
                                 validators=[DataRequired(message=_l("Choose a call to copy from."))])
    submit = SubmitField(_l("Copy this form"))


class StartForm(FellowshipForm):
    """Give a call without a form an empty one."""

    submit = SubmitField(_l("Start an empty form"))


class QuestionForm(FellowshipForm):
    """One question: its wording, its rules, its condition, and the settings of its kind."""

    label = StringField(_l("Question"), validators=[DataRequired(message=_l("Write the question.")),
                                                    Length(max=500)])
    help_text = TextAreaField(_l("Help text (optional)"), validators=[Optional(), Length(max=2000)],
                              description=_l("Shown under the question."))
    key = StringField(_l("Short name (optional)"), validators=[Optional(), Regexp(KEY_PATTERN, message=KEY_MESSAGE)],
                      description=_l("Names the answer in exports, e.g. home_country. Made from the question when "
                                     "left empty."))
    kind = SelectField(_l("Kind of answer"), choices=kind_choices())
    #: The kind whose settings the page showed: a different kind chosen is shown with its settings before saving.
    shown_kind = HiddenField()
    required = BooleanField(_l("An answer is required before submitting"))
    personal_data = BooleanField(_l("Personal data: hidden from reviewers in blind review"))
    in_export = BooleanField(_l("Included in exports"), default=True)
    condition_question = SelectField(_l("Show this question only if the answer to"), choices=[],
                                     description=_l("Leave at “Always show” for a question everyone answers."))
    condition_values = StringField(_l("is one of these values"), validators=[Optional(), Length(max=500)],
                                   description=_l("Separated by commas: choice values, yes or no, or country codes "
                                                  "such as KE."))
    # Settings of each kind (SETTINGS says which kind uses which).
    max_length = IntegerField(_l("Maximum characters"), validators=[Optional(), NumberRange(min=1, max=2000)],
                              default=200)
    min_words = IntegerField(_l("Minimum words"), validators=[Optional(), NumberRange(min=0, max=20000)])
    max_words = IntegerField(_l("Maximum words"), validators=[Optional(), NumberRange(min=1, max=20000)])
    number_min = StringField(_l("Smallest number allowed"), validators=[Optional(), Length(max=30)])
    number_max = StringField(_l("Largest number allowed"), validators=[Optional(), Length(max=30)])
    integer = BooleanField(_l("Whole numbers only"))
    date_min = DateField(_l("Earliest date allowed"), validators=[Optional()])
    date_max = DateField(_l("Latest date allowed"), validators=[Optional()])
    min_years_ago = IntegerField(_l("At least this many years ago"), validators=[Optional(),
                                                                                 NumberRange(min=0, max=150)],
                                 description=_l("e.g. 18 for a date of birth of someone at least 18 years old."))
    max_years_ago = IntegerField(_l("At most this many years ago"), validators=[Optional(),
                                                                                NumberRange(min=0, max=150)])
    choices = TextAreaField(_l("Choices, one per line"), validators=[Optional(), Length(max=10000)],
                            description=_l("Write each choice as “value | label”, e.g. “water | Water and "
                                           "sanitation”. The value names the answer in exports and conditions."))
    min_chosen = IntegerField(_l("Choose at least"), validators=[Optional(), NumberRange(min=0, max=100)])
    max_chosen = IntegerField(_l("Choose at most"), validators=[Optional(), NumberRange(min=1, max=100)])
    countries_only = TextAreaField(_l("Only these countries (optional)"), validators=[Optional(), Length(max=2000)],
                                   description=_l("ISO codes separated by commas, e.g. KE, NG, VN. Empty: every "
                                                  "country."))
    language = StringField(_l("Language (optional)"), validators=[Optional(), Length(max=40)],
                           description=_l("A language code such as ja or en. Empty: the applicant names the "
                                          "language."))
    scale = SelectField(_l("Scale of levels"), default="cefr", choices=[("cefr", _l("CEFR (A1–C2, native)")),
                                                        ("jlpt", _l("JLPT (N5–N1), for Japanese"))])
    document_kind = SelectField(_l("Kind of document"), default="cv",
                                choices=[(k.value, k.lazy_label) for k in DocumentKind
                                         if k is not DocumentKind.REFERENCE_LETTER])
    file_types = CheckboxesField(_l("File types accepted"), choices=list(FILE_TYPES), default=["pdf"])
    max_mb = IntegerField(_l("Largest file (MB)"), default=5, validators=[Optional(), NumberRange(min=1, max=20)])
    min_entries = IntegerField(_l("At least this many entries"), validators=[Optional(), NumberRange(min=0, max=50)])
    max_entries = IntegerField(_l("At most this many entries"), validators=[Optional(), NumberRange(min=1, max=50)])
    submit = SubmitField(_l("Save question"))

    def __init__(self, *args: Any, in_group: bool = False, earlier: list[Any] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if in_group:
            self.kind.choices = kind_choices(in_group=True)
        #: The questions before this one, which a condition may refer to (a condition looks back, never ahead).
        self.earlier = earlier or []
        self.condition_question.choices = [("", _("Always show"))] + [
            (q.key, f"{q.label.get_for(None)} ({q.key})") for q in self.earlier]

    @property
    def chosen_kind(self) -> QuestionKind:
        try:
            return QuestionKind(self.kind.data)
        except ValueError:
            return QuestionKind.SHORT_TEXT

    def settings_fields(self) -> list[Any]:
        """The settings of the chosen kind, for the page."""
        return [self[name] for name in SETTINGS[self.chosen_kind]]

    def validate(self, extra_validators: Any = None) -> bool:
        super().validate(extra_validators)
        if self.shown_kind.data and self.kind.data != self.shown_kind.data and not self.kind.errors:
            # Its settings were not on the page: show them, keep what was typed, save nothing yet.
            self.kind.errors = [_("The settings of “%(kind)s” are now below: fill them in, then save.",
                                  kind=self.chosen_kind.label)]
        # The other kinds' settings are not on the page (nor posted): what they say does not count.
        used = set(SETTINGS[self.chosen_kind])
        for name in ALL_SETTINGS - used:
            self[name].errors = []
        if not any(f.errors for f in self):
            self._config = self._build_config()
            self._condition = self._build_condition()
        self._errors = None
        return not any(f.errors for f in self)

    # --- From the fields to the engine's config and condition (spec: questions_spec.md) ---

    def config(self) -> dict[str, Any]:
        """The kind-specific settings as the engine stores them (after validate())."""
        return self._config

    def condition(self) -> dict[str, Any] | None:
        """The condition as the engine stores it, or None (after validate())."""
        return self._condition

    def _error(self, name: str, message: str) -> None:
        field = self[name]
        field.errors = [*field.errors, message]

    def _range(self, low: str, high: str, config: dict[str, Any], key_low: str, key_high: str) -> None:
        lo, hi = self[low].data, self[high].data
        if lo is not None and lo != "":
            config[key_low] = lo
        if hi is not None and hi != "":
            config[key_high] = hi
        if lo not in (None, "") and hi not in (None, "") and lo > hi:
            self._error(high, _("This must not be less than the value above."))

    def _build_config(self) -> dict[str, Any]:
        kind = self.chosen_kind
        config: dict[str, Any] = {}
        if kind is QuestionKind.SHORT_TEXT:
            config["max_length"] = self.max_length.data or 200
        elif kind is QuestionKind.LONG_TEXT:
            self._range("min_words", "max_words", config, "min_words", "max_words")
        elif kind is QuestionKind.NUMBER:
            config["integer"] = bool(self.integer.data)
            for name, key in (("number_min", "min"), ("number_max", "max")):
                number = self._number(name, integer=config["integer"])
                if number is not None:
                    config[key] = number
            if "min" in config and "max" in config and config["min"] > config["max"]:
                self._error("number_max", _("This must not be less than the smallest number."))
        elif kind is QuestionKind.DATE:
            self._range("date_min", "date_max", config, "min", "max")
            for key in ("min", "max"):
                if isinstance(config.get(key), date):
                    config[key] = config[key].isoformat()
            self._range("min_years_ago", "max_years_ago", config, "min_years_ago", "max_years_ago")
        elif kind in CHOICE_KINDS:
            config["choices"] = self._choices()
            if kind is QuestionKind.MULTIPLE_CHOICE:
                self._range("min_chosen", "max_chosen", config, "min_chosen", "max_chosen")
                if config.get("max_chosen") and config["max_chosen"] > len(config["choices"]) > 0:
                    self._error("max_chosen", _("There are only %(num)d choices.", num=len(config["choices"])))
        elif kind is QuestionKind.COUNTRY:
            codes = [c.strip().upper() for c in re.split(r"[\s,;]+", self.countries_only.data or "") if c.strip()]
            unknown = [c for c in codes if not is_country(c)]
            if unknown:
                self._error("countries_only", _("Unknown country codes: %(codes)s.", codes=", ".join(unknown)))
            if codes:
                config["only"] = sorted(set(codes))
        elif kind is QuestionKind.LANGUAGE_LEVEL:
            if self.language.data and self.language.data.strip():
                config["language"] = self.language.data.strip()
            config["scale"] = self.scale.data
            if self.scale.data == "jlpt" and config.get("language") != "ja":
                self._error("scale", _("The JLPT scale is for Japanese: set the language to ja, or choose CEFR."))
        elif kind is QuestionKind.FILE:
            config["document_kind"] = self.document_kind.data
            config["types"] = [t for t, _label in FILE_TYPES if t in (self.file_types.data or [])]
            if not config["types"]:
                self._error("file_types", _("Tick at least one file type."))
            config["max_mb"] = self.max_mb.data or 5
        elif kind is QuestionKind.GROUP:
            self._range("min_entries", "max_entries", config, "min_entries", "max_entries")
        return config

    def _number(self, name: str, *, integer: bool) -> int | float | None:
        text = (self[name].data or "").strip()
        if not text:
            return None
        try:
            number = float(text)
        except ValueError:
            self._error(name, _("Write a number, such as 0 or 2.5."))
            return None
        if integer:
            if not number.is_integer():
                self._error(name, _("Whole numbers only: write a whole number, or untick “Whole numbers only”."))
                return None
            return int(number)
        return int(number) if number.is_integer() else number

    def _choices(self) -> list[dict[str, Any]]:
        """'value | label' lines as the engine's choices; a line without '|' is its own label, its value made
        from it."""
        choices: list[dict[str, Any]] = []
        seen: set[str] = set()
        for number, line in enumerate((self.choices.data or "").splitlines(), start=1):
            if not line.strip():
                continue
            value, bar, label = line.partition("|")
            value, label = value.strip(), label.strip()
            if not bar:
                label, value = value, slug(value)
            if not label:
                label = value
            if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$", value or ""):
                self._error("choices", _("Line %(num)d: the value “%(value)s” may hold only letters, digits, _ . "
                                         "and -.", num=number, value=value))
                continue
            if value in seen:
                self._error("choices", _("Line %(num)d: the value “%(value)s” is there twice.", num=number,
                                         value=value))
                continue
            seen.add(value)
            choices.append({"value": value, "label": {"en": label}})
        if not choices:
            self._error("choices", _("Write at least one choice, one per line."))
        return choices

    def _build_condition(self) -> dict[str, Any] | None:
        key = self.condition_question.data
        if not key:
            return None
        values = [v.strip() for v in (self.condition_values.data or "").split(",") if v.strip()]
        if not values:
            self._error("condition_values", _("Write the answer(s) that show this question."))
            return None
        target = next((q for q in self.earlier if q.key == key), None)
        if target is None:
            self._error("condition_question", _("Choose a question that comes before this one."))
            return None
        known = _known_values(target)
        if known is not None:
            unknown = [v for v in values if v not in known]
            if unknown:
                self._error("condition_values", _("Not an answer to that question: %(values)s. Its answers are: "
                                                  "%(known)s.", values=", ".join(unknown),
                                                  known=", ".join(sorted(known))))
                return None
        return {"question": key, "values": values}

    def validate_kind(self, field: SelectField) -> None:
        if field.data not in {k.value for k in QuestionKind}:
            raise ValidationError(_("Choose a kind of answer."))


def _known_values(question: Any) -> set[str] | None:
    """The answers a condition on `question` may name, when they form a closed list."""
    kind = QuestionKind(question.kind)
    if kind in CHOICE_KINDS:
        return {c["value"] for c in (question.config or {}).get("choices", [])}
    if kind is QuestionKind.YES_NO:
        return {"yes", "no"}
    return None


def slug(text: str, *, limit: int = 40) -> str:
    """A key made of a label: lower-case words joined by _, starting with a letter."""
    words = re.findall(r"[a-z0-9]+", (text or "").lower())
    value = "_".join(words)[:limit].strip("_")
    if not value or not value[0].isalpha():
        value = ("q_" + value)[:limit].strip("_")
    return value or "q"
