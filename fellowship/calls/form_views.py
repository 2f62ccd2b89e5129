"""The staff builder of a call's application form: sections and questions added, edited, moved and removed; a
preview exactly as applicants see it; the copy of an earlier call's form. No JavaScript needed.

The form is a questionnaire of the questions engine, owned by the call (calls.questionnaire_id). Its structure is
free until the call opens; from then on the engine refuses structural changes (StructureLocked) and only wording
changes, so no submitted answer loses its question.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from fellowship.auth.models import Role
from fellowship.auth.permissions import roles_required
from fellowship.calls import bp, form_services
from fellowship.calls.form_forms import (
    ConfirmForm,
    CopyForm,
    MoveForm,
    NewSectionForm,
    QuestionForm,
    SectionForm,
    StartForm,
    slug,
)
from fellowship.calls.models import Call
from fellowship.errors import DomainError
from fellowship.extensions import db
from fellowship.forms import field_for
from fellowship.i18n.texts import SOURCE_LOCALE, Texts
from fellowship.questions import services as questions
from fellowship.questions.forms import section_form
from fellowship.questions.kinds import KINDS, AnswerError, QuestionKind
from fellowship.questions.models import Question, Questionnaire, QuestionnaireSection
from fellowship.questions.services import CONDITION_KINDS

STAFF = (Role.STAFF, Role.ADMIN)
#: How many earlier calls the copy select offers (newest first).
COPY_CHOICES_LIMIT = 200


# --- Loading and authorising ----------------------------------------------------------------------------------------

def _call_or_404(call_id: int) -> Call:
    return db.get_or_404(Call, call_id)


def _form_of(call: Call) -> Questionnaire | None:
    return form_services.form_of(call)


def _form_or_404(call: Call) -> Questionnaire:
    return _form_of(call) or abort(404)


def _section_or_404(questionnaire: Questionnaire, section_id: int) -> QuestionnaireSection:
    """A section of this call's form; another form's section is not found here."""
    section = db.session.get(QuestionnaireSection, section_id)
    if section is None or section.questionnaire_id != questionnaire.id:
        abort(404)
    return section


def _question_or_404(questionnaire: Questionnaire, question_id: int) -> Question:
    """A question of this call's form; another form's question is not found here."""
    question = db.session.get(Question, question_id)
    if question is None or question.questionnaire_id != questionnaire.id:
        abort(404)
    return question


def _builder(call: Call, anchor: str | None = None) -> Any:
    return redirect(url_for("calls.form_builder", call_id=call.id, _anchor=anchor))


def _earlier_questions(questionnaire: Questionnaire, question: Question | None, section: QuestionnaireSection,
                       group: Question | None) -> list[Question]:
    """The top-level questions before `question` (or before the end of `section` for a new one), in form order:
    what a condition may refer to. A sub-question of a group may refer to the questions before its group."""
    found: list[Question] = []
    anchor = group or question
    for each_section in questionnaire.sections:
        for each in each_section.questions:
            if anchor is not None and each.id == anchor.id:
                return found
            found.append(each)
        if anchor is None and each_section.id == section.id:
            return found
    return found


def _condition_sources(questionnaire: Questionnaire, question: Question | None, section: QuestionnaireSection,
                       group: Question | None) -> list[Question]:
    """The earlier questions a condition may name: those whose answers come from a known list (the engine's
    CONDITION_KINDS). A group's sub-questions are always shown, so they get none."""
    if group is not None:
        return []
    return [q for q in _earlier_questions(questionnaire, question, section, group) if q.kind in CONDITION_KINDS]


# --- The builder page --------------------------------------------------------------------------------------------

def _copy_form(call: Call) -> CopyForm:
    form = CopyForm()
    rows = db.session.execute(
        select(Call.id, Call.year, Call.title_source).where(Call.id != call.id, Call.questionnaire_id.is_not(None))
        .order_by(Call.year.desc(), Call.closes_at.desc()).limit(COPY_CHOICES_LIMIT)).all()
    form.source_call_id.choices = [(row.id, f"{row.title_source} ({row.year})") for row in rows]
    return form


def _render_builder(call: Call, questionnaire: Questionnaire | None, *, section_form_: SectionForm | None = None,
                    copy_form: CopyForm | None = None, status: int = 200) -> tuple[str, int]:
    return render_template(
        "calls/form_builder.html", call=call, questionnaire=questionnaire,
        new_section=section_form_ or NewSectionForm(), copy_form=copy_form or _copy_form(call),
        start_form=StartForm(), action_form=MoveForm(), kinds=list(QuestionKind),
        rules=questions.completeness_rules(questionnaire) if questionnaire is not None else []), status


@bp.route("/staff/calls/<int:call_id>/form")
@roles_required(*STAFF)
def form_builder(call_id: int):
    call = _call_or_404(call_id)
    return _render_builder(call, _form_of(call))


@bp.route("/staff/calls/<int:call_id>/form/start", methods=["POST"])
@roles_required(*STAFF)
def start_form(call_id: int):
    call = _call_or_404(call_id)
    if not StartForm().validate_on_submit():
        abort(400)
    had_form = call.questionnaire_id is not None
    form_services.start_empty_form(call)
    db.session.commit()
    if not had_form:
        flash(_("An empty form was started: add its first section."), "success")
    return _builder(call)


@bp.route("/staff/calls/<int:call_id>/form/copy", methods=["POST"])
@roles_required(*STAFF)
def copy_form(call_id: int):
    call = _call_or_404(call_id)
    form = _copy_form(call)
    if form.validate_on_submit():
        source_call = db.get_or_404(Call, form.source_call_id.data)
        try:
            form_services.copy_form(call, source_call)
        except DomainError as exc:
            db.session.rollback()
            form.source_call_id.errors = [*form.source_call_id.errors, str(exc)]
        else:
            db.session.commit()
            flash(_("The form of “%(title)s” was copied into this call; edit it freely until the call opens.",
                    title=source_call.title_source), "success")
            return _builder(call)
    return _render_builder(call, _form_of(call), copy_form=form, status=422)


# --- Sections --------------------------------------------------------------------------------------------------------

def _unique_section_key(questionnaire: Questionnaire, title: str) -> str:
    base = slug(title, limit=34)
    taken = {s.key for s in questionnaire.sections}
    key, number = base, 2
    while key in taken:
        key, number = f"{base}_{number}", number + 1
    return key


@bp.route("/staff/calls/<int:call_id>/form/sections", methods=["POST"])
@roles_required(*STAFF)
def add_section(call_id: int):
    call = _call_or_404(call_id)
    questionnaire = _form_or_404(call)
    form = NewSectionForm()
    if form.validate_on_submit():
        try:
            section = questions.add_section(questionnaire, _unique_section_key(questionnaire, form.title.data),
                                            {SOURCE_LOCALE: form.title.data.strip()},
                                            _texts_or_none(None, form.description.data))
        except DomainError as exc:
            db.session.rollback()
            field_for(form, exc, default=form.title).errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Section “%(title)s” added.", title=form.title.data.strip()), "success")
            return _builder(call, f"section-{section.id}")
    return _render_builder(call, _form_of(call), section_form_=form, status=422)


def _texts_or_none(current: Texts | None, text: str | None) -> Texts | None:
    """The English text replaced, other languages' translations kept; None when there is no text at all."""
    text = (text or "").strip()
    texts = Texts({**(current or {}), SOURCE_LOCALE: text}) if text else Texts(
        {k: v for k, v in (current or {}).items() if k != SOURCE_LOCALE})
    return texts or None


@bp.route("/staff/calls/<int:call_id>/form/sections/<int:section_id>", methods=["GET", "POST"])
@roles_required(*STAFF)
def edit_section(call_id: int, section_id: int):
    call = _call_or_404(call_id)
    questionnaire = _form_or_404(call)
    section = _section_or_404(questionnaire, section_id)
    form = SectionForm()
    if request.method == "GET":
        form.title.data = section.title.get(SOURCE_LOCALE, "")
        form.description.data = section.description.get(SOURCE_LOCALE, "") if section.description else ""
    if form.validate_on_submit():
        try:
            questions.update_section(section, title=_texts_or_none(section.title, form.title.data),
                                     description=_texts_or_none(section.description, form.description.data))
        except DomainError as exc:
            db.session.rollback()
            field_for(form, exc, default=form.title).errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Section “%(title)s” saved.", title=form.title.data.strip()), "success")
            return _builder(call, f"section-{section.id}")
    return render_template("calls/form_section.html", call=call, section=section, form=form)


def _move(call: Call, move: Any, thing: Any, anchor: str) -> Any:
    form = MoveForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        move(thing, form.offset.data)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
    return _builder(call, anchor)


@bp.route("/staff/calls/<int:call_id>/form/sections/<int:section_id>/move", methods=["POST"])
@roles_required(*STAFF)
def move_section(call_id: int, section_id: int):
    call = _call_or_404(call_id)
    section = _section_or_404(_form_or_404(call), section_id)
    return _move(call, questions.move_section, section, f"section-{section.id}")


@bp.route("/staff/calls/<int:call_id>/form/sections/<int:section_id>/remove", methods=["GET", "POST"])
@roles_required(*STAFF)
def remove_section(call_id: int, section_id: int):
    call = _call_or_404(call_id)
    questionnaire = _form_or_404(call)
    section = _section_or_404(questionnaire, section_id)
    form = ConfirmForm()
    title = section.title.get_for(SOURCE_LOCALE)
    if form.validate_on_submit():
        try:
            questions.remove_section(section)
        except DomainError as exc:
            db.session.rollback()
            form.submit.errors = [str(exc)]
        else:
            db.session.commit()
            flash(_("Section “%(title)s” removed.", title=title), "success")
            return _builder(call)
    return render_template("calls/form_remove.html", call=call, form=form, what=_("section"), title=title,
                           count=len(section.questions), locked=questionnaire.structure_locked)


# --- Questions --------------------------------------------------------------------------------------------------------

def _unique_question_key(questionnaire: Questionnaire, label: str) -> str:
    base = slug(label, limit=34)
    taken = set(db.session.scalars(select(Question.key).where(Question.questionnaire_id == questionnaire.id)))
    key, number = base, 2
    while key in taken:
        key, number = f"{base}_{number}", number + 1
    return key


def _fill_question_form(form: QuestionForm, question: Question) -> None:
    """The stored question into the editor's fields (on GET)."""
    config = question.config or {}
    form.label.data = question.label.get(SOURCE_LOCALE, "")
    form.help_text.data = question.help_text.get(SOURCE_LOCALE, "") if question.help_text else ""
    form.key.data, form.kind.data = question.key, question.kind.value
    form.required.data, form.personal_data.data = question.required, question.personal_data
    form.in_export.data = question.in_export
    if question.condition:
        form.condition_question.data = question.condition.get("question", "")
        form.condition_values.data = ", ".join(str(v) for v in question.condition.get("values", []))
    simple = {"max_length": "max_length", "min_words": "min_words", "max_words": "max_words",
              "min_years_ago": "min_years_ago", "max_years_ago": "max_years_ago", "min_chosen": "min_chosen",
              "max_chosen": "max_chosen", "language": "language", "scale": "scale",
              "document_kind": "document_kind", "max_mb": "max_mb", "min_entries": "min_entries",
              "max_entries": "max_entries", "integer": "integer"}
    for key, name in simple.items():
        if key in config:
            form[name].data = config[key]
    if question.kind is QuestionKind.NUMBER:
        form.number_min.data = "" if config.get("min") is None else str(config["min"])
        form.number_max.data = "" if config.get("max") is None else str(config["max"])
    if question.kind is QuestionKind.DATE:
        from datetime import date

        form.date_min.data = date.fromisoformat(config["min"]) if config.get("min") else None
        form.date_max.data = date.fromisoformat(config["max"]) if config.get("max") else None
    if "choices" in config:
        form.choices.data = "\n".join(f"{c['value']} | {Texts.of(c.get('label')).get_for(SOURCE_LOCALE)}"
                                      for c in config["choices"])
    if "only" in config:
        form.countries_only.data = ", ".join(config["only"])
    if "types" in config:
        form.file_types.data = list(config["types"])


def _wording_config(question: Question, config: dict[str, Any]) -> dict[str, Any]:
    """The stored config with only the choices' labels taken from `config`: the wording part of a change."""
    stored = dict(question.config or {})
    labels = {c["value"]: c["label"] for c in config.get("choices", [])}
    if "choices" in stored:
        stored["choices"] = [
            {**c, "label": Texts({**Texts.of(c.get("label")), **labels[c["value"]]}) if c["value"] in labels
             else c.get("label")} for c in stored["choices"]]
    return stored


def _question_changes(question: Question, form: QuestionForm) -> tuple[dict[str, Any], dict[str, Any]]:
    """What the editor changes, split into wording (allowed once the call has opened: texts, choice labels and the
    flags no answer depends on) and structure (refused from then on). Only values that differ are included."""
    wording: dict[str, Any] = {}
    label = _texts_or_none(question.label, form.label.data) or question.label
    if label != question.label:
        wording["label"] = label
    help_text = _texts_or_none(question.help_text, form.help_text.data)
    if (help_text or None) != (question.help_text or None):
        wording["help_text"] = help_text
    for flag in ("personal_data", "in_export"):
        if getattr(question, flag) != bool(form[flag].data):
            wording[flag] = bool(form[flag].data)
    config = form.config()
    wording_config = _wording_config(question, config)
    if wording_config != (question.config or {}):
        wording["config"] = wording_config
    structure: dict[str, Any] = {}
    wanted = {"kind": QuestionKind(form.kind.data), "key": form.key.data or question.key,
              "required": bool(form.required.data), "condition": form.condition()}
    for name, value in wanted.items():
        if getattr(question, name) != value:
            structure[name] = value
    if config != wording_config:
        structure["config"] = config
    return wording, structure


#: Which field of the editor a refused change is explained beside, by the engine's name for what changed.
ERROR_FIELDS = ("kind", "key", "required", "condition", "config", "label", "help_text", "personal_data", "in_export")


def _field_named(form: QuestionForm, name: str) -> Any:
    if name == "condition":
        return form.condition_question
    if name == "config":
        fields = form.settings_fields()
        return fields[0] if fields else form.kind
    return form._fields.get(name, form.label)


def _error_field(form: QuestionForm, error: Exception, changed: dict[str, Any] | None = None) -> Any:
    """The field beside which a refused change is explained: the one the error names, else the first one the
    submission changed (in the order of ERROR_FIELDS), else the question's text."""
    name = getattr(error, "field", None)
    if name:
        return _field_named(form, name)
    for name in ERROR_FIELDS:
        if changed and name in changed:
            return _field_named(form, name)
    return form.label


def _render_question(call: Call, questionnaire: Questionnaire, section: QuestionnaireSection, group: Question | None,
                     question: Question | None, form: QuestionForm) -> str:
    form.shown_kind.data = form.chosen_kind.value  # the settings this page shows are this kind's
    return render_template("calls/form_question.html", call=call, questionnaire=questionnaire, section=section,
                           group=group, question=question, form=form, action_form=MoveForm(),
                           kinds=list(QuestionKind))


@bp.route("/staff/calls/<int:call_id>/form/sections/<int:section_id>/questions/new", methods=["GET", "POST"])
@roles_required(*STAFF)
def new_question(call_id: int, section_id: int):
    call = _call_or_404(call_id)
    questionnaire = _form_or_404(call)
    section = _section_or_404(questionnaire, section_id)
    group = None
    if request.args.get("group"):
        group = _question_or_404(questionnaire, request.args.get("group", type=int) or 0)
        if group.kind is not QuestionKind.GROUP or group.section_id != section.id:
            abort(404)
    earlier = _condition_sources(questionnaire, None, section, group)
    form = QuestionForm(in_group=group is not None, earlier=earlier)
    if request.method == "GET":
        kind = request.args.get("kind", "")
        form.kind.data = kind if kind in dict(form.kind.choices or []) else QuestionKind.SHORT_TEXT.value
    if form.validate_on_submit():
        try:
            question = questions.add_question(
                section, kind=QuestionKind(form.kind.data),
                key=form.key.data or _unique_question_key(questionnaire, form.label.data),
                label=Texts({SOURCE_LOCALE: form.label.data.strip()}),
                help_text=_texts_or_none(None, form.help_text.data), required=bool(form.required.data),
                personal_data=bool(form.personal_data.data), in_export=bool(form.in_export.data),
                config=form.config(), condition=form.condition(), group=group)
        except DomainError as exc:
            db.session.rollback()
            _error_field(form, exc).errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Question “%(label)s” added.", label=form.label.data.strip()), "success")
            if question.kind is QuestionKind.GROUP:  # its sub-questions are added on its own page
                return redirect(url_for("calls.edit_question", call_id=call.id, question_id=question.id))
            if group is not None:
                return redirect(url_for("calls.edit_question", call_id=call.id, question_id=group.id))
            return _builder(call, f"question-{question.id}")
    return _render_question(call, questionnaire, section, group, None, form)


@bp.route("/staff/calls/<int:call_id>/form/questions/<int:question_id>", methods=["GET", "POST"])
@roles_required(*STAFF)
def edit_question(call_id: int, question_id: int):
    call = _call_or_404(call_id)
    questionnaire = _form_or_404(call)
    question = _question_or_404(questionnaire, question_id)
    section, group = question.section, question.group
    form = QuestionForm(in_group=group is not None,
                        earlier=_condition_sources(questionnaire, question, section, group))
    if request.method == "GET":
        _fill_question_form(form, question)
    status = 200
    if form.validate_on_submit():
        wording, structure = _question_changes(question, form)
        refused: DomainError | None = None
        if structure:
            try:
                with db.session.begin_nested():  # a refused change leaves nothing half-applied
                    questions.update_question(question, **{**wording, **structure})
            except DomainError as exc:
                refused = exc
                db.session.refresh(question)
            else:
                wording = {}
        if wording:
            try:
                questions.update_question(question, **wording)
            except DomainError as exc:
                db.session.rollback()
                _error_field(form, exc, wording).errors.append(str(exc))
                return _render_question(call, questionnaire, section, group, question, form), 422
        db.session.commit()
        if refused is None:
            flash(_("Question “%(label)s” saved.", label=form.label.data.strip()), "success")
            if group is not None:
                return redirect(url_for("calls.edit_question", call_id=call.id, question_id=group.id))
            return _builder(call, f"question-{question.id}")
        # The wording was saved; the structural change is explained beside its field, the typed values kept.
        field = _error_field(form, refused, structure)
        field.errors = [*field.errors, str(refused)]
        if wording:
            flash(_("The wording was saved; the other change was refused (see below)."), "info")
        status = 409
    elif request.method == "POST":
        status = 422
    return _render_question(call, questionnaire, section, group, question, form), status


@bp.route("/staff/calls/<int:call_id>/form/questions/<int:question_id>/move", methods=["POST"])
@roles_required(*STAFF)
def move_question(call_id: int, question_id: int):
    call = _call_or_404(call_id)
    question = _question_or_404(_form_or_404(call), question_id)
    if question.group_id is not None:
        form = MoveForm()
        if not form.validate_on_submit():
            abort(400)
        try:
            questions.move_question(question, form.offset.data)
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
        return redirect(url_for("calls.edit_question", call_id=call.id, question_id=question.group_id,
                                _anchor=f"question-{question.id}"))
    return _move(call, questions.move_question, question, f"question-{question.id}")


@bp.route("/staff/calls/<int:call_id>/form/questions/<int:question_id>/remove", methods=["GET", "POST"])
@roles_required(*STAFF)
def remove_question(call_id: int, question_id: int):
    call = _call_or_404(call_id)
    questionnaire = _form_or_404(call)
    question = _question_or_404(questionnaire, question_id)
    group_id = question.group_id
    form = ConfirmForm()
    label = question.label.get_for(SOURCE_LOCALE)
    if form.validate_on_submit():
        try:
            questions.remove_question(question)
        except DomainError as exc:
            db.session.rollback()
            form.submit.errors = [str(exc)]
        else:
            db.session.commit()
            flash(_("Question “%(label)s” removed.", label=label), "success")
            if group_id is not None:
                return redirect(url_for("calls.edit_question", call_id=call.id, question_id=group_id))
            return _builder(call)
    return render_template("calls/form_remove.html", call=call, form=form, what=_("question"), title=label,
                           count=len(question.children), locked=questionnaire.structure_locked)


# --- Preview ---------------------------------------------------------------------------------------------------------

def _preview_answers(form: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """The typed answers checked as a save would check them, without storing anything: (answers, errors).
    Files are not taken: the preview keeps nothing, so an upload has nowhere to go."""
    answers: dict[str, Any] = {}
    errors: dict[str, str] = {}
    values = form.values()
    for question in form.questions:
        if question.kind is QuestionKind.FILE or question.key not in values:
            continue
        try:
            value = KINDS[question.kind].validate(question, values[question.key])
        except AnswerError as exc:
            errors[question.key] = exc.message
        else:
            if not KINDS[question.kind].is_empty(value):
                answers[question.key] = value
    return answers, errors


@bp.route("/staff/calls/<int:call_id>/form/preview/<int:section_id>", methods=["GET", "POST"])
@roles_required(*STAFF)
def preview_section(call_id: int, section_id: int):
    """A section page as the applicant sees it, from the same form and macro; a POST re-renders it with the answers
    checked and the conditions evaluated, as after an applicant's save, and stores nothing."""
    call = _call_or_404(call_id)
    questionnaire = _form_or_404(call)
    section = _section_or_404(questionnaire, section_id)
    locale = str(get_locale() or SOURCE_LOCALE)
    sections = list(questionnaire.sections)
    position = [s.id for s in sections].index(section.id)
    following = sections[position + 1] if position + 1 < len(sections) else None
    answers: dict[str, Any] = {}
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = section_form(section, answers, locale)
        if not form.validate_on_submit() and "csrf_token" in form.errors:
            abort(400)
        if request.form.get("save_and_next") and following is not None:
            return redirect(url_for("calls.preview_section", call_id=call.id, section_id=following.id))
        if not form.entries_changed:
            answers, errors = _preview_answers(form)
            errors.update({q.key: " ".join(form[q.key].errors) for q in form.questions if q.key not in errors
                           and form[q.key].errors and all(isinstance(e, str) for e in form[q.key].errors)})
            # Rebuilt for the answers as typed: the questions their conditions now show appear, as after a save.
            form = section_form(section, answers, locale)
    else:
        form = section_form(section, answers, locale)
    needed = questions.missing(None, section, answers=answers)  # type: ignore[arg-type]
    form.apply_result(questions.SaveResult(errors=errors))
    return render_template(
        "calls/form_preview.html", call=call, questionnaire=questionnaire, section=section, form=form,
        missing={key: text for key, text in needed.items() if key not in errors}, sections=sections,
        following=following)
