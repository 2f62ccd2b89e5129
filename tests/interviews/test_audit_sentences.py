"""The interviews area's audit entries read as sentences naming the candidate, the stage or the slot (issue 15
item 7), in one query per kind of object, never the fallback "actor: action" form."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from fellowship.admin.audit_log import SENTENCES, describe_all
from fellowship.audit.models import AuditEntry
from fellowship.extensions import db
from fellowship.interviews import notes, scoring, services
from fellowship.questions.kinds import QuestionKind
from fellowship.selection.stages import stage_criteria
from tests.interviews.helpers import World, add_slot, make_world


@pytest.fixture
def world(app_ctx) -> World:
    return make_world(candidates=2)


def test_every_interviews_action_reads_as_a_sentence_naming_its_object(world):
    early, late = add_slot(world, timedelta(days=3), capacity=2), add_slot(world, timedelta(days=4), capacity=2)
    first, second = world.candidates
    booking = services.book(world.interview, first, early.id, world.staff, on_behalf=True)
    services.book(world.interview, first, late.id, world.staff, on_behalf=True)  # rescheduled
    other = services.book(world.interview, second, early.id, world.staff, on_behalf=True)
    services.cancel(other, world.staff, by_staff=True)
    question = notes.add_note_question(world.interview, notes.NoteQuestion("Plan for the return?",
                                                                           QuestionKind.SHORT_TEXT), world.staff)
    notes.remove_note_question(world.interview, question, world.staff)
    notes.add_note_question(world.interview, notes.NoteQuestion("Mentor?", QuestionKind.YES_NO), world.staff)
    criteria = stage_criteria(world.interview)
    section = notes.notes_questionnaire(world.interview).sections[0]
    scoring.score_interview(booking, world.interviewer, {c.id: 4 for c in criteria}, "",
                            {section.id: {section.questions[0].key: "yes"}})
    db.session.commit()
    entries = list(db.session.scalars(select(AuditEntry).options(joinedload(AuditEntry.actor))
                                      .where(AuditEntry.action.like("interviews.%"))
                                      .order_by(AuditEntry.id)))
    sentences: dict[str, str] = {}
    for described in describe_all(entries):
        sentences.setdefault(described.entry.action, described.sentence)  # each action's first entry
    assert set(sentences) >= {"interviews.slot_created", "interviews.booked", "interviews.rescheduled",
                              "interviews.cancelled", "interviews.scored", "interviews.panel_member_added",
                              "interviews.criterion_added", "interviews.notes_questionnaire_started",
                              "interviews.notes_question_added", "interviews.notes_question_removed"}
    assert set(sentences) <= set(SENTENCES)
    reference = first.reference
    assert sentences["interviews.booked"] == f"Chair Person booked an interview for {reference} (Interview)"
    assert sentences["interviews.rescheduled"] == \
        f"Chair Person moved the interview of {reference} (Interview) to another time"
    assert sentences["interviews.cancelled"] == \
        f"Chair Person cancelled the interview of {second.reference} (Interview)"
    assert sentences["interviews.scored"] == f"Ines Interviewer scored the interview of {reference} (Interview)"
    assert sentences["interviews.criterion_added"] == (
        f"Chair Person added the criterion “Leadership” to the rubric of the stage “Interview” of "
        f"“{world.call.title}”")
    assert sentences["interviews.notes_question_removed"].startswith(
        "Chair Person removed the notes question “Plan for the return?” from the stage “Interview”")
    assert sentences["interviews.slot_created"].startswith("Chair Person added the interview slot Interview, ")
    assert sentences["interviews.slot_created"].endswith(" UTC")


def test_a_no_show_reads_as_a_sentence(world):
    slot = add_slot(world, timedelta(days=3))
    booking = services.book(world.interview, world.candidates[0], slot.id, world.staff, on_behalf=True)
    slot.starts_at = slot.starts_at - timedelta(days=4)  # the interview has started
    db.session.flush()
    services.mark_no_show(booking, world.staff)
    db.session.commit()
    entry = db.session.scalars(select(AuditEntry).options(joinedload(AuditEntry.actor))
                              .where(AuditEntry.action == "interviews.no_show")).one()
    assert describe_all([entry])[0].sentence == \
        f"Chair Person recorded that {world.candidates[0].reference} (Interview) did not come to the interview"
