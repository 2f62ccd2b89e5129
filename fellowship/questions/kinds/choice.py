"""Kinds whose answer is chosen from a list: single and multiple choice, yes/no, country, language with level."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from wtforms import Form, FormField, RadioField, SelectField, SelectMultipleField, StringField
from wtforms.validators import Length
from wtforms.widgets import CheckboxInput, ListWidget

from fellowship.geo import country_choices, country_name, is_country
from fellowship.questions.kinds.base import AnswerError, ExportColumn, Kind, QuestionKind
from fellowship.questions.kinds.common import babel_locale, field_kwargs, text_in

if TYPE_CHECKING:
    from wtforms.fields.core import UnboundField

    from fellowship.questions.models import Question

#: Above this many choices a single choice is a select, below it radio buttons (all visible, one click).
RADIO_LIMIT = 6
CEFR_LEVELS = ("A1", "A2", "B1", "B2", "C1", "C2", "native")
JLPT_LEVELS = ("N5", "N4", "N3", "N2", "N1")


def optional_str(value: Any) -> str | None:
    """WTForms' coerce for a choice: None stays None (str(None) would make the choice "None")."""
    return None if value is None else str(value)


class MultiCheckboxField(SelectMultipleField):
    """A multiple choice as a list of checkboxes (no JavaScript, every option visible)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def choices_of(question: Question) -> list[dict[str, Any]]:
    return list((question.config or {}).get("choices") or [])


def choice_label(question: Question, value: str, locale: str | None) -> str:
    for choice in choices_of(question):
        if choice.get("value") == value:
            return text_in(choice.get("label"), locale) or value
    return value  # a value from before a choice was relabelled away still reads as itself


def _check_choices(config: dict[str, Any]) -> dict[str, Any]:
    choices = config.get("choices")
    if not isinstance(choices, list) or not choices:
        raise AnswerError(_("Give at least one choice."))
    seen: set[str] = set()
    for choice in choices:
        value = choice.get("value") if isinstance(choice, dict) else None
        if not isinstance(value, str) or not value or len(value) > 100:
            raise AnswerError(_("Each choice needs a value of 1 to 100 characters."))
        if value in seen:
            raise AnswerError(_("The choice value %(value)s appears twice.", value=value))
        seen.add(value)
    return dict(config)


def _choice_values_reason(old: dict[str, Any], new: dict[str, Any]) -> str | None:
    removed = {c.get("value") for c in old.get("choices") or []} - {c.get("value") for c in new.get("choices") or []}
    if removed:
        return _("choices cannot be removed (%(values)s): answers may already hold them",
                 values=", ".join(sorted(str(v) for v in removed)))
    return None


class SingleChoice(Kind):
    kind = QuestionKind.SINGLE_CHOICE
    description = _l("One option from a list")
    faceted = True

    def validate(self, question: Question, value: Any) -> Any:
        if value is None or value == "":
            return None
        if not isinstance(value, str) or value not in {c.get("value") for c in choices_of(question)}:
            raise AnswerError(_("Choose one of the options."))
        return value

    def form_field(self, question: Question, locale: str | None) -> UnboundField:
        choices = [(c["value"], text_in(c.get("label"), locale) or c["value"]) for c in choices_of(question)]
        if len(choices) <= RADIO_LIMIT:
            return RadioField(choices=choices, coerce=optional_str, validate_choice=False,
                              **field_kwargs(question, locale, aria_required=False))
        return SelectField(choices=[("", _("Choose…")), *choices], coerce=optional_str, validate_choice=False,
                           **field_kwargs(question, locale))

    def display(self, question: Question, value: Any, locale: str | None) -> str:
        return choice_label(question, value, locale) if isinstance(value, str) and value else ""

    def facet_values(self, question: Question, value: Any) -> list[str]:
        return [value] if isinstance(value, str) and value else []

    def check_config(self, config: dict[str, Any]) -> dict[str, Any]:
        return _check_choices(config)

    def structural_config(self, config: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in (config or {}).items() if k != "choices"}

    def config_change_reason(self, old: dict[str, Any], new: dict[str, Any]) -> str | None:
        return _choice_values_reason(old, new)


class MultipleChoice(Kind):
    kind = QuestionKind.MULTIPLE_CHOICE
    description = _l("Several options from a list, optionally at least or at most so many")
    faceted = True

    def validate(self, question: Question, value: Any) -> Any:
        if value is None or value == "" or value == []:
            return None
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise AnswerError(_("Choose from the options."))
        allowed = [c.get("value") for c in choices_of(question)]
        if any(v not in allowed for v in value):
            raise AnswerError(_("Choose from the options."))
        chosen = [v for v in allowed if v in value]  # in the list's order, each once
        config = question.config or {}
        if config.get("max_chosen") and len(chosen) > int(config["max_chosen"]):
            raise AnswerError(ngettext("Choose at most %(num)d option.", "Choose at most %(num)d options.",
                                       int(config["max_chosen"])))
        if config.get("min_chosen") and len(chosen) < int(config["min_chosen"]):
            raise AnswerError(ngettext("Choose at least %(num)d option.", "Choose at least %(num)d options.",
                                       int(config["min_chosen"])))
        return chosen

    def form_field(self, question: Question, locale: str | None) -> UnboundField:
        choices = [(c["value"], text_in(c.get("label"), locale) or c["value"]) for c in choices_of(question)]
        return MultiCheckboxField(choices=choices, coerce=str, validate_choice=False,
                                  **field_kwargs(question, locale, aria_required=False))

    def display(self, question: Question, value: Any, locale: str | None) -> str:
        if not isinstance(value, list):
            return ""
        from babel.lists import format_list

        return format_list([choice_label(question, v, locale) for v in value], locale=babel_locale(locale))

    def export_columns(self, question: Question, locale: str | None) -> list[ExportColumn]:
        return [(question.key, lambda value: "; ".join(value) if isinstance(value, list) and value else None)]

    def facet_values(self, question: Question, value: Any) -> list[str]:
        return list(value) if isinstance(value, list) else []

    def check_config(self, config: dict[str, Any]) -> dict[str, Any]:
        config = _check_choices(config)
        low, high = config.get("min_chosen"), config.get("max_chosen")
        for limit in (low, high):
            if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 0):
                raise AnswerError(_("The number of options to choose is a whole number."))
        if low and high and low > high:
            raise AnswerError(_("The minimum number of options is more than the maximum."))
        return config

    def structural_config(self, config: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in (config or {}).items() if k != "choices"}

    def config_change_reason(self, old: dict[str, Any], new: dict[str, Any]) -> str | None:
        return _choice_values_reason(old, new)


class YesNo(Kind):
    kind = QuestionKind.YES_NO
    description = _l("Yes or no")
    faceted = True

    def validate(self, question: Question, value: Any) -> Any:
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            return value
        if value in ("yes", "no"):
            return value == "yes"
        raise AnswerError(_("Choose yes or no."))

    def is_empty(self, value: Any) -> bool:
        return value is None or value == ""

    def form_field(self, question: Question, locale: str | None) -> UnboundField:
        return RadioField(choices=[("yes", _("Yes")), ("no", _("No"))], coerce=optional_str, validate_choice=False,
                          **field_kwargs(question, locale, aria_required=False))

    def form_data(self, question: Question, value: Any) -> Any:
        return None if value is None else ("yes" if value else "no")

    def display(self, question: Question, value: Any, locale: str | None) -> str:
        return "" if value is None else (_("Yes") if value else _("No"))

    def export_columns(self, question: Question, locale: str | None) -> list[ExportColumn]:
        return [(question.key, lambda value: None if value is None else ("yes" if value else "no"))]

    def facet_values(self, question: Question, value: Any) -> list[str]:
        return [] if value is None else ["yes" if value else "no"]


def localised_country_name(code: str, locale: str | None) -> str:
    """A country's name in the locale (Babel's CLDR names), else the shipped English name."""
    return babel_locale(locale).territories.get(code) or country_name(code)


class Country(Kind):
    kind = QuestionKind.COUNTRY
    description = _l("A country, from the full list or only some")
    faceted = True

    def allowed(self, question: Question) -> list[str] | None:
        only = (question.config or {}).get("only")
        return [str(c).upper() for c in only] if only else None

    def validate(self, question: Question, value: Any) -> Any:
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise AnswerError(_("Choose a country from the list."))
        code = value.strip().upper()
        allowed = self.allowed(question)
        if not is_country(code) or (allowed is not None and code not in allowed):
            raise AnswerError(_("Choose a country from the list."))
        return code

    def form_field(self, question: Question, locale: str | None) -> UnboundField:
        allowed = self.allowed(question)
        choices = [(code, localised_country_name(code, locale)) for code, _name in country_choices()
                   if allowed is None or code in allowed]
        if locale and locale != "en":
            choices.sort(key=lambda item: item[1].casefold())
        return SelectField(choices=[("", _("Choose a country…")), *choices], coerce=optional_str,
                           validate_choice=False, **field_kwargs(question, locale))

    def display(self, question: Question, value: Any, locale: str | None) -> str:
        return localised_country_name(value, locale) if isinstance(value, str) and value else ""

    def export_columns(self, question: Question, locale: str | None) -> list[ExportColumn]:
        return [(question.key, lambda value: value or None),
                (f"{question.key}_name", lambda value: country_name(value) if value else None)]

    def facet_values(self, question: Question, value: Any) -> list[str]:
        return [value] if isinstance(value, str) and value else []

    def check_config(self, config: dict[str, Any]) -> dict[str, Any]:
        only = config.get("only")
        if only is not None:
            if not isinstance(only, list) or not all(isinstance(c, str) and is_country(c) for c in only):
                raise AnswerError(_("Restrict the countries to known country codes (like KE, VN)."))
            config = {**config, "only": [c.upper() for c in only]}
        return dict(config)

    def config_change_reason(self, old: dict[str, Any], new: dict[str, Any]) -> str | None:
        old_only, new_only = old.get("only"), new.get("only")
        if old_only is None and new_only is None:
            return None
        if new_only is None or (old_only is not None and set(old_only) <= set(new_only)):
            return None  # widening the list keeps every answer valid
        return _("the list of countries cannot be narrowed: answers may already hold the others")

    def structural_config(self, config: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in (config or {}).items() if k != "only"}


def level_choices(scale: str) -> list[tuple[str, str]]:
    if scale == "jlpt":
        return [(level, level) for level in JLPT_LEVELS]
    return [(level, _("Native speaker") if level == "native" else level) for level in CEFR_LEVELS]


def language_name(code: str, locale: str | None) -> str:
    """A language's name in the locale when the respondent gave a code Babel knows, else as written."""
    return babel_locale(locale).languages.get(code) or code


class LanguageLevel(Kind):
    kind = QuestionKind.LANGUAGE_LEVEL
    description = _l("A language and the level spoken (CEFR; JLPT for Japanese)")

    def scale(self, question: Question) -> str:
        return "jlpt" if (question.config or {}).get("scale") == "jlpt" else "cefr"

    def validate(self, question: Question, value: Any) -> Any:
        if value is None or value == "" or value == {}:
            return None
        if not isinstance(value, dict):
            raise AnswerError(_("Give the language and your level."))
        fixed = (question.config or {}).get("language")
        language = fixed or value.get("language")
        level = value.get("level")
        if (language is not None and not isinstance(language, str)) or (level is not None and not isinstance(level,
                                                                                                            str)):
            raise AnswerError(_("Give the language and your level."))
        language = (language or "").strip()
        level = (level or "").strip()
        if not level and (fixed or not language):
            return None
        if not language:
            raise AnswerError(_("Name the language."))
        if len(language) > 60:
            raise AnswerError(_("Name the language in at most 60 characters."))
        if level not in dict(level_choices(self.scale(question))):
            raise AnswerError(_("Choose your level from the list."))
        return {"language": language, "level": level}

    def form_field(self, question: Question, locale: str | None) -> UnboundField:
        fixed = (question.config or {}).get("language")
        scale = self.scale(question)

        class LanguageLevelForm(Form):
            level = SelectField(_("Level"), choices=[("", _("Choose…")), *level_choices(scale)],
                                coerce=optional_str, validate_choice=False)

        if not fixed:
            LanguageLevelForm.language = StringField(_("Language"), validators=[Length(max=60)],
                                                     render_kw={"maxlength": 60})
        kwargs = field_kwargs(question, locale)
        kwargs.pop("render_kw", None)
        return FormField(LanguageLevelForm, separator="-", **kwargs)

    def display(self, question: Question, value: Any, locale: str | None) -> str:
        if not isinstance(value, dict) or not value.get("level"):
            return ""
        level = dict(level_choices(self.scale(question))).get(value["level"], value["level"])
        return _("%(language)s: %(level)s", language=language_name(value.get("language", ""), locale), level=level)

    def export_columns(self, question: Question, locale: str | None) -> list[ExportColumn]:
        return [(f"{question.key}_language", lambda v: v.get("language") if isinstance(v, dict) else None),
                (f"{question.key}_level", lambda v: v.get("level") if isinstance(v, dict) else None)]

    def check_config(self, config: dict[str, Any]) -> dict[str, Any]:
        if config.get("scale") not in (None, "cefr", "jlpt"):
            raise AnswerError(_("The scale is CEFR or JLPT."))
        if config.get("scale") == "jlpt" and config.get("language") != "ja":
            raise AnswerError(_("The JLPT scale is for Japanese: set the language to ja, or choose CEFR."))
        return dict(config)
