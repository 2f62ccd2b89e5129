"""Interview scores: an interviewer scores a booked candidate against the interview stage's rubric, with notes;
the stage's per-candidate scores, normalised per interviewer as review scores are, go to the final ranking.

Normalisation follows fellowship/selection/scores.py exactly (its module docstring): population standard
deviations; an interviewer with at least the call's `min_reviews_for_normalisation` scores and a spread above 0
is mapped onto the stage's own mean and spread (stage_mean + z * stage_sd, clamped to 1-5), others count raw.
An interview stage holds tens to hundreds of scores, so this runs in Python over one query; the rows then go
through selection's `store_stage_scores` (G1's interface), which makes the call's stored proposals stale.

Notes are free text, unless the stage has a notes questionnaire (interviews/notes.py): then the interviewer's
notes are their Response to it, saved with the scores in the same transaction (an incomplete answer saves nothing).
"""

from __future__ import annotations

import logging
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from fellowship.audit.services import record
from fellowship.auth.models import User
from fellowship.calls.models import Call
from fellowship.errors import DomainError
from fellowship.extensions import db
from fellowship.interviews.models import BookingStatus, InterviewBooking, InterviewScore
from fellowship.interviews.notes import notes_questionnaire, save_notes
from fellowship.locks import lock_row
from fellowship.selection.models import SelectionStage, StageCriterion
from fellowship.selection.scores import normalise_per_scorer as normalise
from fellowship.selection.scores import weighted_score
from fellowship.selection.stages import stage_criteria, store_stage_scores

log = logging.getLogger(__name__)
MAX_NOTES = 10000


def recompute_stage(stage: SelectionStage) -> None:
    """Refresh the stage's per-candidate scores in the final ranking from the interviewers' scores."""
    lock_row(SelectionStage, stage.id)  # one recompute of a stage at a time
    rows = [(a, i, s) for a, i, s in db.session.execute(
        select(InterviewScore.application_id, InterviewScore.interviewer_id, InterviewScore.weighted_score)
        .join(InterviewBooking, InterviewBooking.id == InterviewScore.booking_id)
        .where(InterviewScore.stage_id == stage.id, InterviewBooking.status == BookingStatus.BOOKED))]
    min_count = db.session.scalar(select(Call.min_reviews_for_normalisation).where(Call.id == stage.call_id)) or 3
    store_stage_scores(stage, normalise(rows, min_count))
    log.info("interview scores of stage %s recomputed (%s scores)", stage.id, len(rows))


def score_interview(booking: InterviewBooking, interviewer: User, values: dict[int, int],
                    notes: str, notes_answers: dict[int, dict[str, Any]] | None = None) -> InterviewScore:
    """Save the interviewer's scores of a booked candidate (replacing their earlier ones) and refresh the stage;
    `notes_answers` (section id -> values by question key) answer the stage's notes questionnaire, if it has one."""
    lock_row(InterviewBooking, booking.id)
    db.session.refresh(booking)
    if booking.status is not BookingStatus.BOOKED:
        raise DomainError(_("Only a booked interview can be scored (this one was cancelled or a no-show)."))
    stage = db.session.get_one(SelectionStage, booking.stage_id)
    criteria: list[StageCriterion] = stage_criteria(stage)
    if not criteria:
        raise DomainError(_("The interview stage has no rubric yet: staff add its criteria first."))
    if set(values) != {c.id for c in criteria} or any(not 1 <= v <= 5 for v in values.values()):
        raise DomainError(_("Give every criterion a score from 1 to 5."))
    if len(notes) > MAX_NOTES:
        raise DomainError(_("Notes are at most %(n)d characters.", n=MAX_NOTES))
    weighted = weighted_score(values, {c.id: c.weight for c in criteria})
    score = db.session.scalar(select(InterviewScore).where(
        InterviewScore.stage_id == stage.id, InterviewScore.application_id == booking.application_id,
        InterviewScore.interviewer_id == interviewer.id))
    before = None if score is None else {"scores": score.scores, "weighted": str(score.weighted_score)}
    if score is None:
        score = InterviewScore(stage_id=stage.id, application_id=booking.application_id, booking_id=booking.id,
                               interviewer_id=interviewer.id)
        db.session.add(score)
    score.booking_id = booking.id
    score.scores = {str(k): int(v) for k, v in sorted(values.items())}
    score.weighted_score, score.notes = weighted, notes.strip()
    questionnaire = notes_questionnaire(stage)
    if questionnaire is not None:
        score.notes_response_id = save_notes(questionnaire, score.notes_response_id, notes_answers or {}).id
    db.session.flush()
    record("interviews.scored", score, actor_id=interviewer.id, call_id=stage.call_id, stage_id=stage.id,
           application_id=booking.application_id, before=before,
           after={"scores": score.scores, "weighted": str(weighted)})
    recompute_stage(stage)
    return score
