"""Versions: free edits until the structure is locked; then structural changes are refused with the reason while
wording changes are kept (version +1). Copying an earlier call's form gives an unlocked deep copy."""

from __future__ import annotations

import pytest

from fellowship.errors import DomainError, FieldError
from fellowship.extensions import db
from fellowship.questions import services
from fellowship.questions.forms import SectionForm
from fellowship.questions.models import Question, Questionnaire
from fellowship.questions.services import StructureLocked
from tests.questions.conftest import CHOICES, question, section


def test_every_saved_change_raises_the_version(questionnaire: Questionnaire) -> None:
    version = questionnaire.version
    services.update_question(question(questionnaire, "name"), label="Your full name")
    assert questionnaire.version == version + 1
    services.update_question(question(questionnaire, "name"), label="Your full name")  # no change, no new version
    assert questionnaire.version == version + 1


@pytest.mark.parametrize(("change", "reason"), [
    (lambda q: services.add_question(section(q, "about"), kind="short_text", key="extra", label="Extra"),
     "questions cannot be added"),
    (lambda q: services.add_section(q, "more", "More"), "sections cannot be added"),
    (lambda q: services.remove_question(question(q, "email")), "questions cannot be removed"),
    (lambda q: services.remove_section(section(q, "history")), "sections cannot be removed"),
    (lambda q: services.move_question(question(q, "email"), -1), "questions cannot be reordered"),
    (lambda q: services.move_section(section(q, "history"), -1), "sections cannot be reordered"),
    (lambda q: services.update_question(question(q, "age"), kind="short_text"), "kind cannot change"),
    (lambda q: services.update_question(question(q, "age"), key="years"), "key cannot change"),
    (lambda q: services.update_question(question(q, "email"), required=True), "cannot become required"),
    (lambda q: services.update_question(question(q, "degree_subject"), condition=None), "when a question is shown"),
    (lambda q: services.update_question(question(q, "age"), config={"integer": True, "min": 16, "max": 40}),
     "limits cannot change"),
    (lambda q: services.update_question(question(q, "field"), config={"choices": CHOICES[:2]}),
     "choices cannot be removed (water)"),
    (lambda q: services.update_question(question(q, "nationality"), config={"only": ["KE"]}), "cannot be narrowed"),
    (lambda q: services.update_section(section(q, "about"), key="you"), "section's key cannot change"),
])
def test_a_structural_change_after_locking_is_refused_with_the_reason(questionnaire: Questionnaire, change,
                                                                      reason: str) -> None:
    services.lock_structure(questionnaire)
    version = questionnaire.version
    with pytest.raises(StructureLocked) as refused:
        change(questionnaire)
    message = str(refused.value)
    assert reason in message and "Only labels, help texts and titles can still change." in message
    assert questionnaire.version == version


def test_wording_changes_after_locking_are_kept_and_raise_the_version(questionnaire: Questionnaire) -> None:
    services.lock_structure(questionnaire)
    version = questionnaire.version
    field = question(questionnaire, "field")
    relabelled = [{**c, "label": {"en": c["label"]["en"].upper()}} for c in CHOICES]
    services.update_question(field, label={"en": "Your field", "fr": "Votre domaine"}, help_text="Pick one",
                             config={"choices": [*relabelled, {"value": "oceans", "label": {"en": "Oceans"}}]})
    services.update_section(section(questionnaire, "about"), title="About yourself")
    db.session.expire_all()
    field = question(questionnaire, "field")
    assert field.label == {"en": "Your field", "fr": "Votre domaine"} and field.help_text == {"en": "Pick one"}
    assert [c["label"]["en"] for c in field.config["choices"]] == ["BIODIVERSITY", "ENERGY", "WATER", "Oceans"]
    assert section(questionnaire, "about").title == {"en": "About yourself"}
    assert questionnaire.version == version + 2


def test_before_locking_the_structure_changes_freely(questionnaire: Questionnaire) -> None:
    about = section(questionnaire, "about")
    services.add_question(about, kind="yes_no", key="visa", label="Need a visa?")
    services.move_question(question(questionnaire, "email"), -2)
    keys = [q.key for q in section(questionnaire, "about").questions]
    assert keys[keys.index("nationality"):keys.index("other_language") + 1] == ["nationality", "email", "japanese",
                                                                          "other_language"]
    services.update_question(question(questionnaire, "age"), kind="short_text", config={})
    services.remove_question(question(questionnaire, "website"))
    assert "website" not in [q.key for q in section(questionnaire, "about").questions]


def test_a_condition_must_look_back_to_a_choice_question(questionnaire: Questionnaire) -> None:
    about = section(questionnaire, "about")
    with pytest.raises(FieldError, match="earlier"):
        services.add_question(about, kind="short_text", key="x", label="X",
                              condition={"question": "nope", "values": ["yes"]})
    with pytest.raises(FieldError, match="choice, yes/no or country"):
        services.add_question(about, kind="short_text", key="x", label="X",
                              condition={"question": "name", "values": ["Amina"]})
    with pytest.raises(FieldError, match="options"):
        services.add_question(about, kind="short_text", key="x", label="X",
                              condition={"question": "field", "values": ["geology"]})
    with pytest.raises(DomainError, match="must come before it"):
        services.move_question(question(questionnaire, "degree_subject"), -2)
    with pytest.raises(DomainError, match="depending on this question"):
        services.remove_question(question(questionnaire, "has_degree"))


def test_keys_are_slugs_unique_per_questionnaire_and_never_a_form_attribute(questionnaire: Questionnaire) -> None:
    about = section(questionnaire, "about")
    for bad, message in (("name", "already used"), ("Bad Key", "lower-case"), ("data", "reserved"),
                         ("values", "reserved")):
        with pytest.raises(FieldError, match=message):
            services.add_question(about, kind="short_text", key=bad, label="X")
    with pytest.raises(FieldError, match="tag nationality"):
        services.add_question(about, kind="country", key="residence", label="Residence", tag="nationality")
    attributes = {name for name in dir(SectionForm) if services.KEY_RE.match(name)}
    assert attributes <= services.RESERVED_KEYS


def test_copying_a_questionnaire_gives_an_unlocked_deep_copy_at_version_1(questionnaire: Questionnaire) -> None:
    services.lock_structure(questionnaire)
    copy = services.copy_questionnaire(questionnaire, "Call 2027 form")
    db.session.expire_all()
    assert copy.id != questionnaire.id and copy.version == 1 and copy.structure_locked_at is None
    assert copy.title == {"en": "Call 2027 form"}

    def shape(q: Questionnaire) -> list:
        return [(s.key, s.title, [(x.key, x.kind, x.label, x.required, x.personal_data, x.in_export, x.tag, x.config,
                                   x.condition, [(c.key, c.kind, c.required) for c in x.children])
                                  for x in s.questions]) for s in q.sections]

    assert shape(copy) == shape(questionnaire)
    copied_ids = {x.id for s in copy.sections for x in s.questions}
    original_ids = {x.id for s in questionnaire.sections for x in s.questions}
    assert not copied_ids & original_ids
    group = next(x for s in copy.sections for x in s.questions if x.key == "education")
    assert all(child.questionnaire_id == copy.id and child.group_id == group.id for child in group.children)
    # The copy changes freely; the original does not move.
    services.add_question(copy.sections[0], kind="short_text", key="extra", label="Extra")
    assert db.session.scalar(db.select(Question.id).filter_by(questionnaire_id=questionnaire.id, key="extra")) is None


def test_completeness_rules_say_what_a_complete_answer_needs(questionnaire: Questionnaire) -> None:
    rules = services.completeness_rules(questionnaire)
    assert rules[0] == "2 sections, 16 questions, 5 of them required."
    assert "“Subject of your degree” is asked only when the answer to “Do you hold a degree?” is yes." in rules
    assert "“Education”: 1 to 2 entries." in rules
    assert "“Motivation”: 3 to 10 words." in rules
    assert "“CV”: a PDF file of at most 1 MB." in rules


def test_a_builder_resending_unchanged_limits_with_empty_entries_is_a_wording_change(questionnaire: Questionnaire
                                                                                     ) -> None:
    services.lock_structure(questionnaire)
    age = question(questionnaire, "age")
    services.update_question(age, label="Your age", required=False, key="age", kind="number", condition=None,
                             config={"integer": True, "min": "18", "max": 40.0, "unused": None})
    assert age.label == {"en": "Your age"} and age.config == {"integer": True, "min": 18, "max": 40}


def test_moving_a_sub_question_reorders_its_group_and_a_move_past_the_end_changes_nothing(
        questionnaire: Questionnaire) -> None:
    services.move_question(question(questionnaire, "year"), -1)
    assert [c.key for c in question(questionnaire, "education").children] == ["year", "institution"]
    version = questionnaire.version
    services.move_question(question(questionnaire, "year"), -1)
    services.move_section(section(questionnaire, "about"), -1)
    assert questionnaire.version == version
