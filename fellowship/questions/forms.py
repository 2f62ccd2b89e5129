"""A section's form, built from its questions: one field per visible question, repeatable groups without JavaScript.

A group is a FieldList of entry sub-forms. "Add another entry" and each entry's "Remove" are submit buttons
(`_add_<key>`, `_remove_<key>` = entry index) of the same form: the view re-renders the page with the entry added or
removed (`form.entries_changed`), keeping everything typed.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from flask import has_request_context, request
from sqlalchemy import inspect as sa_inspect
from werkzeug.datastructures import CombinedMultiDict, FileStorage, MultiDict
from wtforms import Field, FieldList

from fellowship.forms import FellowshipForm
from fellowship.i18n.texts import current_locale
from fellowship.questions.kinds import KINDS, QuestionKind
from fellowship.questions.models import Question, QuestionnaireSection
from fellowship.questions.services import SaveResult, visible_questions

ADD_PREFIX = "_add_"
REMOVE_PREFIX = "_remove_"
#: A value that means "leave the stored answer as it is" (a file input left empty).
KEEP = object()


class SectionForm(FellowshipForm):
    """The fields of one section's visible questions, named by question key."""

    questions: list[Question]
    stored: dict[str, Any]
    entries_changed: bool = False

    def values(self) -> dict[str, Any]:
        """The coerced values by question key, for save_section_answers (a key left out keeps its answer)."""
        values: dict[str, Any] = {}
        for question in self.questions:
            value = _field_value(question, self[question.key], self.stored.get(question.key))
            if value is not KEEP:
                values[question.key] = value
        return values

    def apply_result(self, result: SaveResult, *, with_missing: bool = False) -> None:
        """Show a save's errors (and, when asked, what is still missing) beside their fields."""
        problems = {**(result.missing if with_missing else {}), **result.errors}
        for key, message in problems.items():
            if key in self._fields:
                self[key].errors = [*self[key].errors, message] if isinstance(self[key].errors, list) else [message]
        for key, details in result.entry_errors.items():
            if key not in self._fields:
                continue
            entries = {_entry_index(entry): entry for entry in self[key].entries}
            for (index, child_key), message in details.items():
                entry = entries.get(index)
                # The posted entries are numbered as posted; validate() counted the entries it was given in order.
                if entry is None and index < len(self[key].entries):
                    entry = self[key].entries[index]
                if entry is not None and child_key in entry.form._fields:
                    entry.form[child_key].errors = [message]

    def can_add(self, key: str) -> bool:
        """Whether the group `key` may take one more entry (for the "Add another entry" button)."""
        question = next(q for q in self.questions if q.key == key)
        return can_add_entry(question, self[key])

    def file_answer(self, key: str) -> dict[str, Any] | None:
        """The file already kept for a file question (the input itself shows no value)."""
        value = self.stored.get(key)
        return value if isinstance(value, dict) else None


def _entry_index(entry: Field) -> int:
    try:
        return int(entry.name.rsplit("-", 1)[-1])
    except ValueError:
        return -1


def _field_value(question: Question, field: Field, stored: Any) -> Any:
    kind = question.kind
    if kind is QuestionKind.FILE:
        data = field.data
        return data if isinstance(data, FileStorage) and data.filename else KEEP
    if kind is QuestionKind.GROUP:
        entries = []
        stored_entries = stored if isinstance(stored, list) else []
        for position, entry in enumerate(field.entries):
            index = _entry_index(entry)
            previous = stored_entries[index] if 0 <= index < len(stored_entries) else (
                stored_entries[position] if position < len(stored_entries) else {})
            values = {}
            for child in question.children:
                value = _field_value(child, entry.form[child.key], previous.get(child.key))
                values[child.key] = previous.get(child.key) if value is KEEP else value
            entries.append(values)
        return entries
    if kind is QuestionKind.LANGUAGE_LEVEL:
        data = dict(field.data or {})
        return data if any(data.values()) else None
    return field.data


def _formdata(formdata: Any) -> Any:
    """The posted data (form fields and files) when the request is a submission, else None."""
    if formdata is not None:
        return formdata
    if has_request_context() and request.method in ("POST", "PUT"):
        return CombinedMultiDict((request.files, request.form)) if request.files else request.form
    return None


def section_form(section: QuestionnaireSection, answers: dict[str, Any], locale: str | None,
                 formdata: MultiDict[str, Any] | None = None) -> SectionForm:
    """The form for one section: a field per question shown for `answers`, filled from them or from the post."""
    questions = visible_questions(section, answers)
    form_class = _form_class(section, questions, locale)
    posted = _formdata(formdata)
    if posted is not None:
        form = form_class(formdata=posted)
    else:
        form = form_class(formdata=None, data={q.key: KINDS[q.kind].form_data(q, answers.get(q.key))
                                               for q in questions})
    form.questions = questions
    form.stored = {q.key: answers.get(q.key) for q in questions}
    if posted is not None:
        _change_entries(form, posted)
    return form


#: Form classes of the sections of forms kept by the process (questions.structure), by what they are built from.
#: Building one (a field per question, its choices and labels in the language, WTForms' class machinery) cost a
#: tenth of a section save (make bench-surge); a class is immutable once built, each request binds its own fields.
_CLASSES: OrderedDict[tuple[Any, ...], type[SectionForm]] = OrderedDict()
_CLASSES_GUARD = threading.Lock()
_CLASSES_KEPT = 256


def _form_class(section: QuestionnaireSection, questions: list[Question], locale: str | None) -> type[SectionForm]:
    """The form class asking `questions` of `section` in `locale`: kept when the section is the process's read-only
    copy of its form's structure (a form being edited, attached to a session, is built afresh every time)."""
    def build() -> type[SectionForm]:
        fields = {q.key: KINDS[q.kind].form_field(q, locale) for q in questions}
        return type(f"SectionForm_{section.key}", (SectionForm,), fields)

    if sa_inspect(section).session is not None:
        return build()
    questionnaire = section.questionnaire
    # The form's version moves on with every change to its questions (questions.structure); the page's language
    # is part of the key too, as some fields' texts ("Choose…") are in it.
    key = (questionnaire.id, questionnaire.version, questionnaire.updated_at, section.id,
           tuple(q.id for q in questions), locale, current_locale())
    with _CLASSES_GUARD:
        found = _CLASSES.get(key)
        if found is not None:
            _CLASSES.move_to_end(key)
            return found
    built = build()
    with _CLASSES_GUARD:
        _CLASSES[key] = built
        while len(_CLASSES) > _CLASSES_KEPT:
            _CLASSES.popitem(last=False)
    return built


def _change_entries(form: SectionForm, posted: Any) -> None:
    """Apply an "Add another entry" or "Remove" button of a repeatable group."""
    for question in form.questions:
        if question.kind is not QuestionKind.GROUP:
            continue
        field: FieldList = form[question.key]
        low, high = KINDS[QuestionKind.GROUP].limits(question)  # type: ignore[attr-defined]
        if posted.get(f"{ADD_PREFIX}{question.key}") is not None:
            form.entries_changed = True
            if high is None or len(field.entries) < high:
                field.append_entry()
        removed = posted.get(f"{REMOVE_PREFIX}{question.key}")
        if removed is not None:
            form.entries_changed = True
            field.entries = [entry for entry in field.entries if str(_entry_index(entry)) != str(removed)]
            if not field.entries:
                field.append_entry()  # an empty group still shows one blank entry to fill in


def can_add_entry(question: Question, field: FieldList) -> bool:
    """Whether a group may take one more entry (its maximum not reached)."""
    _low, high = KINDS[QuestionKind.GROUP].limits(question)  # type: ignore[attr-defined]
    return high is None or len(field.entries) < high
