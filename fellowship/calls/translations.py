"""A call's programme content in every language: what staff translate on the call's Translations page.

Each text of a call (title, description, privacy notice, the staff-written notes of its emails), of its rubric
(criterion names, descriptions, level descriptions) and of its application form (section titles and descriptions,
question labels, help texts and choices) is one `TextItem`: its English source and its translations. A missing
translation falls back to English wherever the text is shown; `missing_translations` lists what each language lacks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm.attributes import flag_modified

from fellowship.audit.services import record
from fellowship.calls.models import Call
from fellowship.extensions import db
from fellowship.i18n import LOCALES
from fellowship.i18n.texts import SOURCE_LOCALE, Texts
from fellowship.questions.models import Question, QuestionnaireSection

#: The staff-written notes a call can add to its emails, by key: {key: what the note is for}.
EMAIL_NOTES: dict[str, Any] = {
    "application_submitted": _l("A note at the end of the email confirming a submitted application"),
    "referee_invitation": _l("A note at the end of the email inviting a referee"),
}
#: The languages a call is translated into (English is the source).
TARGET_LOCALES: tuple[str, ...] = tuple(lang for lang in LOCALES if lang != SOURCE_LOCALE)


@dataclass
class TextItem:
    """One translatable text of a call, with a key unique in the call (the form field's name)."""

    key: str
    label: str
    group: str
    texts: Texts
    write: Callable[[dict[str, str]], None] = field(repr=False)
    multiline: bool = False

    @property
    def english(self) -> str:
        return self.texts.get(SOURCE_LOCALE, "")

    def is_missing(self, locale: str) -> bool:
        """True when there is an English text but none in `locale`."""
        return bool(self.english) and not self.texts.get(locale)


def _set_attr(obj: Any, attribute: str) -> Callable[[dict[str, str]], None]:
    def write(texts: dict[str, str]) -> None:
        setattr(obj, attribute, Texts.of(texts))

    return write


Writer = Callable[[dict[str, str]], None]


def _source_and_translations(obj: Any, source: str, translations: str) -> tuple[Texts, Writer]:
    """A text kept as an English column plus a translations column (calls, rubric criteria)."""
    texts = Texts.of({**(getattr(obj, translations) or {}), SOURCE_LOCALE: getattr(obj, source) or ""})

    def write(new: dict[str, str]) -> None:
        if new.get(SOURCE_LOCALE):
            setattr(obj, source, new[SOURCE_LOCALE])
        setattr(obj, translations, Texts.of({k: v for k, v in new.items() if k != SOURCE_LOCALE}))

    return texts, write


def _json_entry(obj: Any, attribute: str, key: str) -> tuple[Texts, Callable[[dict[str, str]], None]]:
    """A text kept at `key` of a JSON column holding {key: {lang: text}} (email notes, level translations)."""
    texts = Texts.of(dict((getattr(obj, attribute) or {}).get(key) or {}))

    def write(new: dict[str, str]) -> None:
        value = dict(getattr(obj, attribute) or {})
        value[key] = dict(Texts.of(new))
        setattr(obj, attribute, value)
        flag_modified(obj, attribute)

    return texts, write


def call_texts(call: Call) -> list[TextItem]:
    """Every translatable text of `call`, in the order of the Translations page."""
    items: list[TextItem] = []
    about = str(_("The call"))
    texts, write = _source_and_translations(call, "title_source", "title_translations")
    items.append(TextItem("call-title", str(_("Title")), about, texts, write))
    texts, write = _source_and_translations(call, "description_source", "description_translations")
    items.append(TextItem("call-description", str(_("Description for applicants")), about, texts, write, True))
    items.append(TextItem("call-privacy", str(_("Privacy notice for this call")), about,
                          Texts.of(call.privacy_notice), _set_attr(call, "privacy_notice"), True))
    emails = str(_("Emails"))
    for key, purpose in EMAIL_NOTES.items():
        texts, write = _json_entry(call, "email_texts", key)
        items.append(TextItem(f"email-{key}", str(purpose), emails, texts, write, True))
    for criterion in call.criteria:
        group = str(_("Rubric: %(name)s", name=criterion.name_source))
        texts, write = _source_and_translations(criterion, "name_source", "name_translations")
        items.append(TextItem(f"criterion-{criterion.id}-name", str(_("Name")), group, texts, write))
        texts, write = _source_and_translations(criterion, "description_source", "description_translations")
        items.append(TextItem(f"criterion-{criterion.id}-description", str(_("What it looks for")), group, texts,
                              write, True))
        for level in range(1, 6):
            english = str((criterion.level_descriptions or {}).get(str(level), ""))
            if not english:
                continue
            texts, write_level = _json_entry(criterion, "level_translations", str(level))
            texts = Texts.of({**texts, SOURCE_LOCALE: english})
            items.append(TextItem(f"criterion-{criterion.id}-level-{level}", str(_("Score %(level)d", level=level)),
                                  group, texts, _without_source(write_level)))
    items.extend(_questionnaire_texts(call))
    return items


def _without_source(write: Callable[[dict[str, str]], None]) -> Callable[[dict[str, str]], None]:
    """A writer for translations whose English lives elsewhere (level descriptions: on the call's form)."""
    return lambda new: write({k: v for k, v in new.items() if k != SOURCE_LOCALE})


def _questionnaire_texts(call: Call) -> Iterator[TextItem]:
    """The application form's section titles and descriptions, question labels, help texts and choices."""
    questionnaire_id = getattr(call, "questionnaire_id", None)
    if questionnaire_id is None:
        return
    sections = db.session.scalars(select(QuestionnaireSection).where(
        QuestionnaireSection.questionnaire_id == questionnaire_id).order_by(QuestionnaireSection.position)).all()
    questions = db.session.scalars(select(Question).where(Question.questionnaire_id == questionnaire_id)
                                   .order_by(Question.section_id, Question.position)).all()
    by_section: dict[int, list[Question]] = {}
    for question in questions:
        by_section.setdefault(question.section_id, []).append(question)
    for section in sections:
        group = str(_("Application form: %(section)s", section=Texts.of(section.title).get_for(SOURCE_LOCALE)))
        yield TextItem(f"section-{section.id}-title", str(_("Section title")), group, Texts.of(section.title),
                       _set_attr(section, "title"))
        if section.description:
            yield TextItem(f"section-{section.id}-description", str(_("Section description")), group,
                           Texts.of(section.description), _set_attr(section, "description"), True)
        for question in by_section.get(section.id, []):
            english = Texts.of(question.label).get_for(SOURCE_LOCALE)
            yield TextItem(f"question-{question.id}-label", str(_("Question: %(label)s", label=english)), group,
                           Texts.of(question.label), _set_attr(question, "label"))
            if question.help_text:
                yield TextItem(f"question-{question.id}-help", str(_("Help text of “%(label)s”", label=english)),
                               group, Texts.of(question.help_text), _set_attr(question, "help_text"), True)
            for index, choice in enumerate((question.config or {}).get("choices") or []):
                if isinstance(choice, dict):
                    yield TextItem(f"question-{question.id}-choice-{index}",
                                   str(_("Choice of “%(label)s”", label=english)), group,
                                   Texts.of(choice.get("label") or choice.get("value")),
                                   _choice_writer(question, index))


def _choice_writer(question: Question, index: int) -> Callable[[dict[str, str]], None]:
    def write(new: dict[str, str]) -> None:
        config = dict(question.config or {})
        choices = [dict(c) for c in config.get("choices") or []]
        choices[index]["label"] = dict(Texts.of(new))
        config["choices"] = choices
        question.config = config
        flag_modified(question, "config")

    return write


def save_translations(call: Call, locale: str, values: dict[str, str]) -> int:
    """Store the texts staff typed for `locale` (empty: no translation, English shows); the number changed."""
    if locale not in LOCALES:
        raise ValueError(locale)
    changed = 0
    for item in call_texts(call):
        if item.key not in values:
            continue
        new_text = (values[item.key] or "").strip()
        if locale == SOURCE_LOCALE and not new_text and item.english:
            continue  # the English source of a text is never emptied here
        if new_text == item.texts.get(locale, ""):
            continue
        texts = dict(item.texts)
        texts[locale] = new_text
        item.write(texts)
        changed += 1
    if changed:
        record("calls.translations_saved", call, locale=locale, changed=changed)
        db.session.flush()
    return changed


def missing_translations(call: Call) -> dict[str, list[TextItem]]:
    """For each language of TARGET_LOCALES, the call's texts with English but no translation in it."""
    items = call_texts(call)
    return {locale: [item for item in items if item.is_missing(locale)] for locale in TARGET_LOCALES}
