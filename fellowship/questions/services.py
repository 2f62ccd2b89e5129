"""Build questionnaires (versioned; structure frozen once locked) and keep respondents' answers, validated per kind."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, cast

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import Table, delete, func, insert, select, update
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from fellowship.audit.services import record
from fellowship.documents.cleanup import delete_after_commit
from fellowship.documents.storage import get_storage
from fellowship.errors import DomainError, FieldError
from fellowship.extensions import db
from fellowship.i18n.texts import Texts
from fellowship.locks import lock_row
from fellowship.models import utcnow
from fellowship.questions.kinds import KINDS, AnswerError, EntryErrors, QuestionKind
from fellowship.questions.kinds.choice import choice_label
from fellowship.questions.kinds.common import text_in, text_now
from fellowship.questions.kinds.file import STORED_KEYS
from fellowship.questions.kinds.group import Group
from fellowship.questions.kinds.text import LongText
from fellowship.questions.models import (
    AnswerFacet,
    AnswerSet,
    Question,
    Questionnaire,
    QuestionnaireSection,
    Response,
)

log = logging.getLogger(__name__)

KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
#: Names a question key cannot take: the section form's own attributes (a field named "data" would shadow them).
RESERVED_KEYS = frozenset({"data", "errors", "meta", "validate", "process", "populate_obj", "csrf_token", "submit",
                           "values", "hidden_tag", "questions", "stored", "entries_changed", "apply_result",
                           "file_answer", "form_errors", "is_submitted", "validate_on_submit", "extra_validators",
                           "recaptcha", "save_and_next", "action", "can_add", "post_process"})
#: Kinds another question's condition may refer to: their answers are values from a known list.
CONDITION_KINDS = frozenset({QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE, QuestionKind.YES_NO,
                             QuestionKind.COUNTRY})
#: What a question's owner may change after the structure is locked: nothing an answer depends on.
WORDING = frozenset({"label", "help_text", "personal_data", "in_export", "tag"})
QUESTION_FIELDS = WORDING | {"required", "config", "condition", "key", "kind"}
SECTION_FIELDS = frozenset({"title", "description", "key"})


class StructureLocked(DomainError):
    """A structural change to a questionnaire whose structure is locked; the message says what and why."""


@dataclass
class SaveResult:
    """What a section save could not keep (`errors`, by question key) and what is still needed (`missing`)."""

    errors: dict[str, str] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    #: Per repeatable group: (entry index, sub-question key) → message, for beside the entry's field.
    entry_errors: dict[str, dict[tuple[int, str], str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


# --- building -------------------------------------------------------------------------------------------------


def _locked_refusal(what: str) -> StructureLocked:
    return StructureLocked(_("The structure of this form is locked because it is in use, so answers already "
                             "given keep their questions: %(what)s. Only labels, help texts and titles can still "
                             "change.", what=what))


def _begin_change(questionnaire: Questionnaire, *, structural: str | None) -> None:
    """Hold the questionnaire's row (a lock and a change cannot cross), refuse a structural change once locked."""
    lock_row(Questionnaire, questionnaire.id)
    db.session.refresh(questionnaire, ["structure_locked_at", "version"])
    if structural and questionnaire.structure_locked_at is not None:
        raise _locked_refusal(structural)


def _bump(questionnaire: Questionnaire) -> None:
    questionnaire.version = questionnaire.version + 1
    questionnaire.updated_at = utcnow()


def _texts(value: str | dict[str, str] | None, *, field_name: str, required: bool) -> Texts | None:
    texts = Texts.of(value)
    if required and not texts.get_for(None).strip():
        raise FieldError(field_name, _("Write this text (in English at least)."))
    return texts or None


def _check_key(questionnaire_id: int, key: str, model: type[Question] | type[QuestionnaireSection],
               *, current_id: int | None = None) -> str:
    if not isinstance(key, str) or not KEY_RE.match(key):
        raise FieldError("key", _("Use 1 to 40 lower-case letters, digits and underscores, starting with a letter."))
    if model is Question and key in RESERVED_KEYS:
        raise FieldError("key", _("The key %(key)s is reserved; choose another.", key=key))
    taken = db.session.scalar(select(model.id).where(model.questionnaire_id == questionnaire_id, model.key == key,
                                                     model.id != (current_id or 0)))
    if taken:
        raise FieldError("key", _("The key %(key)s is already used in this form.", key=key))
    return key


def _check_tag(questionnaire_id: int, tag: str | None, *, current_id: int | None = None) -> str | None:
    if not tag:
        return None
    if not KEY_RE.match(tag):
        raise FieldError("tag", _("Use 1 to 40 lower-case letters, digits and underscores, starting with a letter."))
    taken = db.session.scalar(select(Question.id).where(Question.questionnaire_id == questionnaire_id,
                                                        Question.tag == tag, Question.id != (current_id or 0)))
    if taken:
        raise FieldError("tag", _("Another question of this form already has the tag %(tag)s.", tag=tag))
    return tag


def _significant(config: dict[str, Any] | None) -> dict[str, Any]:
    """A configuration without its unset entries (None, "", [], False: what a builder form sends for "no limit")."""
    return {k: v for k, v in (config or {}).items() if v is not None and v is not False and v != "" and v != []}


def _check_config(kind: QuestionKind, config: dict[str, Any] | None) -> dict[str, Any]:
    try:
        return KINDS[kind].check_config(_significant(config))
    except AnswerError as exc:
        raise FieldError("config", exc.message) from exc


def ordered_questions(questionnaire: Questionnaire) -> list[Question]:
    """The top-level questions in the order a respondent meets them (sections, then positions)."""
    return [q for section in questionnaire.sections for q in section.questions]


def _check_condition(question_key: str, condition: dict[str, Any] | None, earlier: list[Question]
                     ) -> dict[str, Any] | None:
    """A condition refers to an earlier choice, yes/no or country question and some of its values."""
    if not condition:
        return None
    source_key, values = condition.get("question"), condition.get("values")
    source = next((q for q in earlier if q.key == source_key), None)
    if source is None or source.key == question_key:
        raise FieldError("condition", _("A condition refers to a question that comes earlier in the form."))
    if source.kind not in CONDITION_KINDS:
        raise FieldError("condition", _("A condition refers to a choice, yes/no or country question."))
    if not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values):
        raise FieldError("condition", _("Choose the answers that show this question."))
    if source.kind is QuestionKind.YES_NO:
        allowed: set[str] | None = {"yes", "no"}
    elif source.kind in (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE):
        allowed = {c.get("value") for c in (source.config or {}).get("choices") or []}
    else:
        allowed = None
    if allowed is not None and set(values) - allowed:
        raise FieldError("condition", _("Choose the answers among that question's options."))
    if source.kind is QuestionKind.COUNTRY:
        values = [v.upper() for v in values]
    return {"question": source.key, "values": list(dict.fromkeys(values))}


def _check_order(questionnaire: Questionnaire, order: list[Question]) -> None:
    """Every condition still refers to a question that comes before it."""
    seen: set[str] = set()
    for question in order:
        source = (question.condition or {}).get("question")
        if source and source not in seen:
            raise DomainError(_("“%(label)s” is shown depending on “%(source)s”, which must come before it.",
                                label=text_now(question.label), source=source))
        seen.add(question.key)


#: Set while a whole form is built from a template: that is one audited event, not one entry per section and question.
_building_from_template: ContextVar[str | None] = ContextVar("building_from_template", default=None)


@contextmanager
def built_from_template(template: str) -> Iterator[None]:
    """Build a whole questionnaire inside this block: its sections and questions are not audited one by one; the
    questionnaire's creation is audited once, naming the template."""
    token = _building_from_template.set(template)
    try:
        yield
    finally:
        _building_from_template.reset(token)


def _record(action: str, target: Any, **details: Any) -> None:
    template = _building_from_template.get()
    if template is None:
        record(action, target, **details)
    elif action == "questions.questionnaire_created":
        record(action, target, template=template, **details)


def create_questionnaire(title: str | dict[str, str]) -> Questionnaire:
    """A new, empty, unlocked questionnaire at version 1."""
    questionnaire = Questionnaire(title=_texts(title, field_name="title", required=True), version=1)
    db.session.add(questionnaire)
    db.session.flush()
    _record("questions.questionnaire_created", questionnaire)
    return questionnaire


def add_section(questionnaire: Questionnaire, key: str, title: str | dict[str, str],
                description: str | dict[str, str] | None = None) -> QuestionnaireSection:
    """A section at the end of the questionnaire."""
    _begin_change(questionnaire, structural=_("sections cannot be added"))
    _check_key(questionnaire.id, key, QuestionnaireSection)
    position = db.session.scalar(select(func.coalesce(func.max(QuestionnaireSection.position) + 1, 0))
                                 .where(QuestionnaireSection.questionnaire_id == questionnaire.id))
    section = QuestionnaireSection(questionnaire_id=questionnaire.id, key=key, position=position,
                                   title=_texts(title, field_name="title", required=True),
                                   description=_texts(description, field_name="description", required=False))
    db.session.add(section)
    _bump(questionnaire)
    db.session.flush()
    db.session.expire(questionnaire, ["sections"])
    _record("questions.section_added", section, questionnaire_id=questionnaire.id, key=key)
    return section


def add_question(section: QuestionnaireSection, *, kind: QuestionKind | str, key: str, label: str | dict[str, str],
                 required: bool = False, help_text: str | dict[str, str] | None = None, personal_data: bool = False,
                 in_export: bool = True, tag: str | None = None, config: dict[str, Any] | None = None,
                 condition: dict[str, Any] | None = None, group: Question | None = None) -> Question:
    """A question at the end of its section (or of its repeatable group)."""
    questionnaire = section.questionnaire
    _begin_change(questionnaire, structural=_("questions cannot be added"))
    kind = QuestionKind(kind)
    _check_key(questionnaire.id, key, Question)
    if group is not None:
        if group.kind is not QuestionKind.GROUP or group.section_id != section.id:
            raise DomainError(_("Sub-questions belong to a repeatable group of the same section."))
        if kind is QuestionKind.GROUP:
            raise FieldError("kind", _("A repeatable group cannot hold another group."))
        if condition:
            raise FieldError("condition", _("Questions inside a repeatable group are always shown."))
        siblings = list(group.children)
    else:
        siblings = list(section.questions)
    earlier = _questions_before(questionnaire, section, None)
    question = Question(
        questionnaire_id=questionnaire.id, section_id=section.id, group_id=group.id if group else None, key=key,
        position=(max((q.position for q in siblings), default=-1) + 1), kind=kind,
        label=_texts(label, field_name="label", required=True),
        help_text=_texts(help_text, field_name="help_text", required=False), required=bool(required),
        personal_data=bool(personal_data), in_export=bool(in_export), tag=_check_tag(questionnaire.id, tag),
        config=_check_config(kind, config), condition=_check_condition(key, condition, earlier))
    db.session.add(question)
    _bump(questionnaire)
    db.session.flush()
    db.session.expire(section, ["questions"])
    if group is not None:
        db.session.expire(group, ["children"])
    _record("questions.question_added", question, questionnaire_id=questionnaire.id, key=key, kind=kind.value)
    return question


def _questions_before(questionnaire: Questionnaire, section: QuestionnaireSection, question: Question | None
                      ) -> list[Question]:
    """The top-level questions before `question` (or, for a new one, before the end of `section`)."""
    before: list[Question] = []
    for current in questionnaire.sections:
        for candidate in current.questions:
            if question is not None and candidate.id == question.id:
                return before
            before.append(candidate)
        if current.id == section.id and question is None:
            return before
    return before


def update_question(question: Question, **changes: Any) -> Question:
    """Change a question; once the structure is locked only its wording (and flags no answer depends on) changes."""
    unknown = set(changes) - QUESTION_FIELDS
    if unknown:
        raise TypeError(f"unknown question fields: {', '.join(sorted(unknown))}")
    questionnaire = db.session.get(Questionnaire, question.questionnaire_id)
    assert questionnaire is not None
    _begin_change(questionnaire, structural=None)
    locked = questionnaire.structure_locked_at is not None
    kind = QuestionKind(changes.get("kind", question.kind))
    new: dict[str, Any] = {}
    if "label" in changes:
        new["label"] = _texts(changes["label"], field_name="label", required=True)
    if "help_text" in changes:
        new["help_text"] = _texts(changes["help_text"], field_name="help_text", required=False)
    for flag in ("personal_data", "in_export", "required"):
        if flag in changes:
            new[flag] = bool(changes[flag])
    if "tag" in changes:
        new["tag"] = _check_tag(questionnaire.id, changes["tag"], current_id=question.id)
    if "key" in changes and changes["key"] != question.key:
        new["key"] = _check_key(questionnaire.id, changes["key"], Question, current_id=question.id)
    if "kind" in changes and kind is not question.kind:
        if question.kind is QuestionKind.GROUP and question.children:
            raise FieldError("kind", _("Remove the group's sub-questions before changing its kind."))
        if question.group_id is not None and kind is QuestionKind.GROUP:
            raise FieldError("kind", _("A repeatable group cannot hold another group."))
        new["kind"] = kind
    if "config" in changes or "kind" in new:
        new["config"] = _check_config(kind, changes.get("config", question.config))
    if "condition" in changes:
        if question.group_id is not None and changes["condition"]:
            raise FieldError("condition", _("Questions inside a repeatable group are always shown."))
        earlier = _questions_before(questionnaire, question.section, question)
        new["condition"] = _check_condition(new.get("key", question.key), changes["condition"], earlier)
    if locked:
        reason = _structural_reason(question, new)
        if reason:
            raise _locked_refusal(reason)
    if "key" in new and not locked:
        _rename_condition_references(questionnaire, question.key, new["key"])
    changed = {name: value for name, value in new.items() if getattr(question, name) != value}
    if not changed:
        return question
    for name, value in changed.items():
        setattr(question, name, value)
    _bump(questionnaire)
    db.session.flush()
    _record("questions.question_updated", question, questionnaire_id=questionnaire.id, key=question.key,
           changed=sorted(changed))
    return question


def _structural_reason(question: Question, new: dict[str, Any]) -> str | None:
    """Why a change to a locked question is structural, or None when it only touches wording."""
    if "kind" in new and new["kind"] is not question.kind:
        return _("a question's kind cannot change")
    if "key" in new and new["key"] != question.key:
        return _("a question's key cannot change")
    if "required" in new and new["required"] != question.required:
        return _("a question cannot become required or optional")
    if "condition" in new and new["condition"] != question.condition:
        return _("when a question is shown cannot change")
    if "config" in new:
        kind = KINDS[question.kind]
        old_config, new_config = _significant(question.config), _significant(new["config"])
        reason = getattr(kind, "config_change_reason", lambda old, new: None)(old_config, new_config)
        if reason:
            return str(reason)
        if kind.structural_config(old_config) != kind.structural_config(new_config):
            return _("the question's limits cannot change")
    return None


def _rename_condition_references(questionnaire: Questionnaire, old: str, new: str) -> None:
    for other in ordered_questions(questionnaire):
        if (other.condition or {}).get("question") == old:
            other.condition = {**(other.condition or {}), "question": new}


def update_section(section: QuestionnaireSection, **changes: Any) -> QuestionnaireSection:
    """Change a section's title or description (always), or its key (until the structure is locked)."""
    unknown = set(changes) - SECTION_FIELDS
    if unknown:
        raise TypeError(f"unknown section fields: {', '.join(sorted(unknown))}")
    questionnaire = section.questionnaire
    key_changes = "key" in changes and changes["key"] != section.key
    _begin_change(questionnaire, structural=_("a section's key cannot change") if key_changes else None)
    new: dict[str, Any] = {}
    if "title" in changes:
        new["title"] = _texts(changes["title"], field_name="title", required=True)
    if "description" in changes:
        new["description"] = _texts(changes["description"], field_name="description", required=False)
    if key_changes:
        new["key"] = _check_key(questionnaire.id, changes["key"], QuestionnaireSection, current_id=section.id)
    changed = {name: value for name, value in new.items() if getattr(section, name) != value}
    if not changed:
        return section
    for name, value in changed.items():
        setattr(section, name, value)
    _bump(questionnaire)
    db.session.flush()
    _record("questions.section_updated", section, questionnaire_id=questionnaire.id, changed=sorted(changed))
    return section


def _reordered(items: list[Any], item: Any, offset: int) -> list[Any]:
    index = next(i for i, other in enumerate(items) if other.id == item.id)
    target = max(0, min(len(items) - 1, index + offset))
    result = [other for other in items if other.id != item.id]
    result.insert(target, item)
    return result


def move_question(question: Question, offset: int) -> None:
    """Move a question up (negative) or down among its siblings; conditions must still look back."""
    questionnaire = db.session.get(Questionnaire, question.questionnaire_id)
    assert questionnaire is not None
    _begin_change(questionnaire, structural=_("questions cannot be reordered"))
    siblings = list(question.group.children) if question.group_id is not None and question.group else \
        list(question.section.questions)
    order = _reordered(siblings, question, offset)
    if [q.id for q in order] == [q.id for q in siblings]:
        return  # already first or last: nothing changes, no new version
    if question.group_id is None:
        flat = [q for s in questionnaire.sections for q in (order if s.id == question.section_id else s.questions)]
        _check_order(questionnaire, flat)
    for position, sibling in enumerate(order):
        sibling.position = position
    _bump(questionnaire)
    db.session.flush()
    db.session.expire(question.section, ["questions"])
    if question.group is not None:
        db.session.expire(question.group, ["children"])
    _record("questions.question_moved", question, questionnaire_id=questionnaire.id, offset=offset)


def move_section(section: QuestionnaireSection, offset: int) -> None:
    """Move a section up (negative) or down; conditions must still look back."""
    questionnaire = section.questionnaire
    _begin_change(questionnaire, structural=_("sections cannot be reordered"))
    order = _reordered(list(questionnaire.sections), section, offset)
    if [s.id for s in order] == [s.id for s in questionnaire.sections]:
        return
    _check_order(questionnaire, [q for s in order for q in s.questions])
    for position, other in enumerate(order):
        other.position = position
    _bump(questionnaire)
    db.session.flush()
    db.session.expire(questionnaire, ["sections"])
    _record("questions.section_moved", section, questionnaire_id=questionnaire.id, offset=offset)


def _dependants(questionnaire: Questionnaire, keys: set[str]) -> list[Question]:
    return [q for q in ordered_questions(questionnaire)
            if (q.condition or {}).get("question") in keys and q.key not in keys]


def remove_question(question: Question) -> None:
    """Remove a question (and a group's sub-questions) until the structure is locked."""
    questionnaire = db.session.get(Questionnaire, question.questionnaire_id)
    assert questionnaire is not None
    _begin_change(questionnaire, structural=_("questions cannot be removed"))
    dependants = _dependants(questionnaire, {question.key})
    if dependants:
        raise DomainError(_("“%(label)s” is shown depending on this question; change or remove it first.",
                            label=text_now(dependants[0].label)))
    ids = [question.id, *(child.id for child in question.children)]
    # SQLite does not enforce ON DELETE CASCADE here, so the rows that refer to the question go explicitly.
    db.session.execute(delete(AnswerFacet).where(AnswerFacet.question_id.in_(ids)))
    _record("questions.question_removed", question, questionnaire_id=questionnaire.id, key=question.key)
    section, group = question.section, question.group
    db.session.delete(question)
    _bump(questionnaire)
    db.session.flush()
    db.session.expire(section, ["questions"])
    if group is not None:
        db.session.expire(group, ["children"])


def remove_section(section: QuestionnaireSection) -> None:
    """Remove a section and its questions until the structure is locked and while nobody has answered it."""
    questionnaire = section.questionnaire
    _begin_change(questionnaire, structural=_("sections cannot be removed"))
    if db.session.scalar(select(AnswerSet.id).where(AnswerSet.section_id == section.id).limit(1)):
        raise DomainError(_("Answers were already saved in this section, so it cannot be removed."))
    questions = list(db.session.scalars(select(Question).where(Question.section_id == section.id)))
    keys = {q.key for q in questions}
    dependants = _dependants(questionnaire, keys)
    if dependants:
        raise DomainError(_("“%(label)s” is shown depending on a question of this section; change or remove it "
                            "first.", label=text_now(dependants[0].label)))
    ids = [q.id for q in questions]
    if ids:
        db.session.execute(delete(AnswerFacet).where(AnswerFacet.question_id.in_(ids)))
        # Sub-questions first: their group is one of these rows.
        for question in sorted(questions, key=lambda q: q.group_id is None):
            db.session.delete(question)
        db.session.flush()
    _record("questions.section_removed", section, questionnaire_id=questionnaire.id, key=section.key)
    db.session.delete(section)
    _bump(questionnaire)
    db.session.flush()
    db.session.expire(questionnaire, ["sections"])


def copy_questionnaire(source: Questionnaire, title: str | dict[str, str] | None = None) -> Questionnaire:
    """A deep copy (sections, questions, sub-questions, conditions, tags), unlocked, at version 1."""
    copy = Questionnaire(title=Texts.of(title) if title else Texts.of(source.title), version=1)
    db.session.add(copy)
    db.session.flush()

    def clone(question: Question, section: QuestionnaireSection, group: Question | None) -> Question:
        twin = Question(questionnaire_id=copy.id, section_id=section.id, group_id=group.id if group else None,
                        key=question.key, position=question.position, kind=question.kind,
                        label=Texts.of(question.label), help_text=Texts.of(question.help_text) or None,
                        required=question.required, personal_data=question.personal_data,
                        in_export=question.in_export, tag=question.tag, config=_deep(question.config or {}),
                        condition=_deep(question.condition) if question.condition else None)
        db.session.add(twin)
        return twin

    for section in source.sections:
        twin_section = QuestionnaireSection(questionnaire_id=copy.id, key=section.key, position=section.position,
                                            title=Texts.of(section.title),
                                            description=Texts.of(section.description) or None)
        db.session.add(twin_section)
        db.session.flush()
        for question in section.questions:
            twin = clone(question, twin_section, None)
            if question.children:
                db.session.flush()
                for child in question.children:
                    clone(child, twin_section, twin)
    db.session.flush()
    _record("questions.questionnaire_copied", copy, source_id=source.id)
    return copy


def _deep(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deep(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep(v) for v in value]
    return value


def lock_structure(questionnaire: Questionnaire) -> None:
    """From now on only wording changes (called by the owner, e.g. when a call opens); idempotent."""
    _begin_change(questionnaire, structural=None)
    if questionnaire.structure_locked_at is None:
        questionnaire.structure_locked_at = utcnow()
        db.session.flush()
        _record("questions.structure_locked", questionnaire)


# --- answers --------------------------------------------------------------------------------------------------


def response_for(questionnaire: Questionnaire) -> Response:
    """A new, empty response; its owner keeps the foreign key."""
    response = Response(questionnaire_id=questionnaire.id, created_at=utcnow())
    db.session.add(response)
    db.session.flush()
    return response


def answers_of(response: Response) -> dict[str, Any]:
    """Every stored answer of the response, by question key (all sections)."""
    answers: dict[str, Any] = {}
    for answer_set in response.answer_sets:
        answers.update(answer_set.data or {})
    return answers


def condition_holds(question: Question, answers: dict[str, Any]) -> bool:
    """Whether a question is shown given the answers (no condition: always)."""
    condition = question.condition
    if not condition:
        return True
    answer = answers.get(str(condition.get("question")))
    wanted = set(condition.get("values") or [])
    if isinstance(answer, bool):
        return ("yes" if answer else "no") in wanted
    if isinstance(answer, list):
        return any(str(v) in wanted for v in answer)
    return answer is not None and str(answer) in wanted


def _walk_visible(questionnaire: Questionnaire, answers: dict[str, Any]
                  ) -> Iterator[tuple[QuestionnaireSection, Question, bool]]:
    """Each top-level question with whether it is shown; a hidden question's answer counts as not given."""
    effective: dict[str, Any] = {}
    for section in questionnaire.sections:
        for question in section.questions:
            shown = condition_holds(question, effective)
            if shown and question.key in answers:
                effective[question.key] = answers[question.key]
            yield section, question, shown


def effective_answers(questionnaire: Questionnaire, answers: dict[str, Any]) -> dict[str, Any]:
    """The answers of the questions currently shown (a hidden question's stale answer is left out)."""
    return {q.key: answers[q.key] for _s, q, shown in _walk_visible(questionnaire, answers)
            if shown and q.key in answers}


def visible_questions(section: QuestionnaireSection, answers: dict[str, Any]) -> list[Question]:
    """The section's top-level questions shown for these answers (conditions evaluated on the server)."""
    return [q for s, q, shown in _walk_visible(section.questionnaire, answers) if s.id == section.id and shown]


def _file_keys(value: Any) -> set[str]:
    """Storage keys of the file answers inside a stored value (groups hold files too)."""
    if isinstance(value, dict):
        if set(value) == STORED_KEYS and isinstance(value.get("key"), str):
            return {value["key"]}
        return set().union(*(_file_keys(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_file_keys(v) for v in value)) if value else set()
    return set()


def save_section_answers(response: Response, section: QuestionnaireSection, values: dict[str, Any], *,
                         locked: bool = False) -> SaveResult:
    """Keep each well-formed answer of the section, drop those of hidden questions, record the errors.

    `values` holds the form's (coerced) values by question key; a key left out keeps its stored answer (a file
    input left empty keeps the file). Stores the data with the questionnaire's version and rewrites the facets.
    `locked`: the caller holds a lock that serialises the saves of this response (its owner's row) and read the
    response and its answer sets after taking it, so they are current: no second lock, no second read."""
    if section.questionnaire_id != response.questionnaire_id:
        raise DomainError(_("This section belongs to another form."))
    questionnaire = section.questionnaire
    if locked:
        sets = {s.section_id: s for s in response.answer_sets}
    else:
        lock_row(Response, response.id)  # two saves of one response at once: one after the other
        sets = {s.section_id: s for s in db.session.scalars(
            select(AnswerSet).where(AnswerSet.response_id == response.id)
            .execution_options(populate_existing=True))}
    before = {sid: dict(s.data or {}) for sid, s in sets.items()}
    # The stored facets are those of the stored answers when every answer set was saved on this version (a save
    # writes both): then only the questions whose facets differ are rewritten, often none (make bench-surge).
    facets_current = all(s.questionnaire_version == questionnaire.version for s in sets.values())
    answers: dict[str, Any] = {}
    for data in before.values():
        answers.update(data)
    result = SaveResult()
    mine = dict(before.get(section.id, {}))
    for question in section.questions:
        if question.key not in values:
            continue
        try:
            stored = KINDS[question.kind].validate(question, values[question.key])
        except EntryErrors as exc:
            result.errors[question.key] = exc.message
            result.entry_errors[question.key] = exc.details
            continue
        except AnswerError as exc:
            result.errors[question.key] = exc.message
            continue
        if KINDS[question.kind].is_empty(stored):
            mine.pop(question.key, None)
            answers.pop(question.key, None)
        else:
            mine[question.key] = stored
            answers[question.key] = stored
    after: dict[int, dict[str, Any]] = {sid: dict(data) for sid, data in before.items()}
    after[section.id] = mine
    # Every section's answers again without those of questions now hidden (an answer in this section can hide
    # questions further on), and without keys no longer asked.
    shown_by_section: dict[int, set[str]] = {}
    for current, question, shown in _walk_visible(questionnaire, {k: v for d in after.values() for k, v in d.items()}):
        if shown:
            shown_by_section.setdefault(current.id, set()).add(question.key)
    for section_id, data in after.items():
        after[section_id] = {k: v for k, v in data.items() if k in shown_by_section.get(section_id, set())}
    session = db.session()
    storage = None
    for section_id, data in after.items():
        gone = _file_keys(before.get(section_id)) - _file_keys(data)
        if gone:
            storage = storage or get_storage()
            for key in gone:
                delete_after_commit(session, storage, key)
        if section_id in sets:
            if sets[section_id].data != data or section_id == section.id:
                version = questionnaire.version if section_id == section.id else sets[section_id].questionnaire_version
                _write_answer_set(sets[section_id], data, version)
        elif section_id == section.id:
            _add_answer_set(response, section.id, data, questionnaire.version)
    _rewrite_facets(response, questionnaire, {k: v for d in after.values() for k, v in d.items()},
                    before={k: v for d in before.values() for k, v in d.items()} if facets_current else None)
    result.missing = missing(response, section, {k: v for d in after.values() for k, v in d.items()})
    return result


# An answer set is written with one statement of its own, and the loaded objects are given the values written as
# their committed state: a save is the busiest write at a deadline, and the ORM's unit of work (change tracking,
# the flush and its listeners, none of which watch answer sets) cost more than the statement itself (make
# bench-surge). The objects stay what a reader in this transaction expects: the response lists the new set.

def _write_answer_set(answer_set: AnswerSet, data: dict[str, Any], version: int) -> None:
    now = utcnow()
    table = cast(Table, AnswerSet.__table__)
    db.session.execute(update(table).where(table.c.id == answer_set.id)
                       .values(data=data, questionnaire_version=version, updated_at=now))
    for name, value in (("data", data), ("questionnaire_version", version), ("updated_at", now)):
        set_committed_value(answer_set, name, value)


def _add_answer_set(response: Response, section_id: int, data: dict[str, Any], version: int) -> None:
    now = utcnow()
    table = cast(Table, AnswerSet.__table__)
    before = list(response.answer_sets)  # loaded before the INSERT, or a lazy load would list the new set twice
    new_id = db.session.execute(insert(table).values(response_id=response.id, section_id=section_id, data=data,
                                                     questionnaire_version=version, updated_at=now)
                                .returning(table.c.id)).scalar_one()
    answer_set = AnswerSet(id=new_id, response_id=response.id, section_id=section_id, data=data,
                           questionnaire_version=version, updated_at=now)
    make_transient_to_detached(answer_set)
    db.session.add(answer_set)  # persistent, as if loaded: nothing left to flush
    set_committed_value(answer_set, "response", response)
    set_committed_value(response, "answer_sets", [*before, answer_set])


def _facets(questionnaire: Questionnaire, answers: dict[str, Any]) -> dict[int, list[str]]:
    """Question id -> its answer's facet values (faceted questions only)."""
    return {question.id: [str(value)[:100] for value in
                          dict.fromkeys(KINDS[question.kind].facet_values(question, answers.get(question.key)))]
            for question in ordered_questions(questionnaire) if KINDS[question.kind].faceted}


def _rewrite_facets(response: Response, questionnaire: Questionnaire, answers: dict[str, Any],
                    before: dict[str, Any] | None = None) -> None:
    """One facet row per chosen value of each faceted answer: what staff list filters join on. With `before` (the
    answers the stored facets were written from), only the questions whose facets changed are rewritten."""
    new = _facets(questionnaire, answers)
    if before is None:
        db.session.execute(delete(AnswerFacet).where(AnswerFacet.response_id == response.id))
        changed = list(new)
    else:
        old = _facets(questionnaire, before)
        changed = [question_id for question_id, values in new.items() if old.get(question_id) != values]
        if not changed:
            return
        gone = [question_id for question_id in changed if old.get(question_id)]
        if gone:
            db.session.execute(delete(AnswerFacet).where(AnswerFacet.response_id == response.id,
                                                         AnswerFacet.question_id.in_(gone)))
    rows = [{"response_id": response.id, "question_id": question_id, "value": value}
            for question_id in changed for value in new[question_id]]
    if rows:
        db.session.execute(insert(AnswerFacet), rows)


def missing(response: Response, section: QuestionnaireSection, answers: dict[str, Any] | None = None
            ) -> dict[str, str]:
    """What the section still needs, by question key: required answers shown and empty, word limits, entries."""
    answers = answers_of(response) if answers is None else answers
    needed: dict[str, str] = {}
    for question in visible_questions(section, answers):
        if problem := _still_needed(question, answers.get(question.key)):
            needed[question.key] = problem
    return needed


def missing_by_section(questionnaire: Questionnaire, answers: dict[str, Any]) -> dict[int, dict[str, str]]:
    """`missing` for every section at once (section id -> question key -> sentence): the conditions are walked once
    over the whole questionnaire, not once per section (a submit's completeness check, make bench-surge)."""
    needed: dict[int, dict[str, str]] = {section.id: {} for section in questionnaire.sections}
    for section, question, shown in _walk_visible(questionnaire, answers):
        if shown and (problem := _still_needed(question, answers.get(question.key))):
            needed[section.id][question.key] = problem
    return needed


def _still_needed(question: Question, value: Any) -> str | None:
    """What a shown question's answer still needs, as a sentence, or None."""
    kind = KINDS[question.kind]
    if isinstance(kind, Group) and (problem := kind.entry_problems(question, value)):
        return problem  # a group's minimum of entries asks for them even when not "required"
    if kind.is_empty(value):
        return _("This question needs an answer.") if question.required else None
    if isinstance(kind, LongText):
        return kind.limit_problem(question, value) or None
    return None


def completeness_rules(questionnaire: Questionnaire, locale: str | None = None) -> list[str]:
    """Sentences for staff saying what a complete answer to this questionnaire needs."""
    questions = ordered_questions(questionnaire)
    required = sum(1 for q in questions if q.required)
    rules = [ngettext("%(num)d section, %(questions)d questions, %(required)d of them required.",
                      "%(num)d sections, %(questions)d questions, %(required)d of them required.",
                      len(questionnaire.sections), questions=len(questions), required=required)]
    by_key = {q.key: q for q in questions}
    for question in questions:
        label = text_in(question.label, locale)
        config = question.config or {}
        if question.condition:
            source = by_key.get(question.condition.get("question", ""))
            if source is not None:
                values = [_condition_value_label(source, v, locale) for v in question.condition.get("values", [])]
                rules.append(_("“%(label)s” is asked only when the answer to “%(source)s” is %(values)s.",
                               label=label, source=text_in(source.label, locale), values=" / ".join(values)))
        if question.kind is QuestionKind.GROUP:
            low, high = KINDS[QuestionKind.GROUP].limits(question)  # type: ignore[attr-defined]
            if high:
                rules.append(_("“%(label)s”: %(min)d to %(max)d entries.", label=label, min=low, max=high))
            elif low:
                rules.append(ngettext("“%(label)s”: at least %(num)d entry.", "“%(label)s”: at least %(num)d entries.",
                                      low, label=label))
        if question.kind is QuestionKind.LONG_TEXT and (config.get("min_words") or config.get("max_words")):
            if config.get("min_words") and config.get("max_words"):
                rules.append(_("“%(label)s”: %(min)d to %(max)d words.", label=label, min=config["min_words"],
                               max=config["max_words"]))
            elif config.get("max_words"):
                rules.append(_("“%(label)s”: at most %(max)d words.", label=label, max=config["max_words"]))
            else:
                rules.append(_("“%(label)s”: at least %(min)d words.", label=label, min=config["min_words"]))
        if question.kind is QuestionKind.FILE:
            types = " / ".join(t.upper() for t in config.get("types") or ("pdf", "jpeg", "png"))
            if config.get("max_mb"):
                rules.append(_("“%(label)s”: a %(types)s file of at most %(mb)s MB.", label=label, types=types,
                               mb=config["max_mb"]))
            else:
                rules.append(_("“%(label)s”: a %(types)s file.", label=label, types=types))
    return rules


def _condition_value_label(source: Question, value: str, locale: str | None) -> str:
    if source.kind is QuestionKind.YES_NO:
        return _("yes") if value == "yes" else _("no")
    if source.kind is QuestionKind.COUNTRY:
        return KINDS[QuestionKind.COUNTRY].display(source, value, locale)
    return choice_label(source, value, locale)


def questions_by_tag(questionnaire: Questionnaire) -> dict[str, Question]:
    """The questionnaire's tagged questions by tag (how an owner finds, e.g., the nationality question)."""
    return {q.tag: q for q in _all_questions(questionnaire) if q.tag}


def _all_questions(questionnaire: Questionnaire) -> Iterable[Question]:
    for question in ordered_questions(questionnaire):
        yield question
        yield from question.children
