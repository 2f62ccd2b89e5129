"""Selection in stages: a call's stages after screening, the cut at a shortlist, and the final score over stages.

The model (tables in fellowship/selection/models/stages.py, migration 0016):

* A call's stages are `SelectionStage` rows in `position` order, after the eligibility screening (which exists
  apart) and before the final decision (decisions.py, unchanged). Kinds: REVIEW (a review round), SHORTLIST (a
  cut), INTERVIEW. A call without stage rows, or with only its one review round, is a one-round call and behaves
  exactly as before; migration 0016 gives every existing call that one stage ("Review", weight 100).
* The call's FIRST review round owns the call's rubric (rubric_criteria), panel (call_reviewers), assignments,
  reviews and ApplicationScore: that machinery is unchanged, and its settings stay on the call
  (reviewers_per_application, review_due_at, blind_review). Every other scored stage (a later review round, an
  interview) has its own rubric (`StageCriterion`), panel (`StagePanelMember`), reviewers per application, due
  date and `blind`, and gives its scores through `StageScore`. A later review round's assignments and reviews
  (StageAssignment, StageReview) and its pages are in review_rounds.py and round_views.py.
* A SHORTLIST ranks the candidates still in (those who advanced at the previous confirmed shortlist, else every
  ranked application) by the weighted combination of the scored stages BEFORE it, and advances the top
  `advance_count`, with the call's regional quotas applied to those places when `advance_by_quota` (the same
  `ranking.propose_selection`), after the chair's `StageAdjustment`s (include/exclude with a reason). Staff
  confirm on a page that lists who advances and who does not (`confirm_advancing` writes one `StageResult` per
  candidate and sets `advanced_at`); sending the outcome (`send_outcome`) queues each "not shortlisted" email once.
* The final ranking (ranking.py) orders by the combined score of all scored stages, weighted by `weight`
  (percent), among those who advanced at the last confirmed shortlist; quotas, places, adjustments, decisions and
  offers continue as before.

Interface for the interviews area (interviews/, above selection; it imports from here, never the reverse):

* An interview stage is a `SelectionStage` with `kind == StageKind.INTERVIEW`; its rubric is
  `stage_criteria(stage)`, its panel `stage_panel(stage)`, its weight `stage.weight`.
* Who is interviewed: `shortlisted_ids(stage)` (ids of the applications that advanced at the last confirmed
  shortlist before that stage; empty until staff confirm it), or `shortlisted_query(stage)` for paginated lists.
* When staff send a shortlist's outcome, `fellowship.signals.stage_outcome_sent` is sent (sender: the shortlist
  stage; kwarg `advanced_ids`): subscribe to it to invite the shortlisted to book a slot, in the same transaction.
* Interview scores feed the final ranking through `store_stage_scores(stage, rows)`: rows of
  (application_id, raw_score, normalised_score, score_count) on the 1-5 scale, already normalised per interviewer
  (as scores.py does per reviewer). It replaces the stage's rows and makes the call's stored proposals stale. A
  candidate with no score in a weighted stage (a no-show) is not ranked in the final ranking.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, cast

from flask_babel import gettext as _
from sqlalchemy import CursorResult, Select, and_, case, delete, false, func, insert, select, update
from sqlalchemy.orm import aliased

from fellowship.applications.models import Application, ApplicationStatus
from fellowship.audit.services import record
from fellowship.auth.models import User
from fellowship.calls.models import Call, CallStatus
from fellowship.errors import DomainError
from fellowship.extensions import db
from fellowship.i18n.messages import StoredMessage
from fellowship.locks import lock_row
from fellowship.models import utcnow
from fellowship.selection.models import (
    AdjustmentAction,
    ApplicationScore,
    SelectionStage,
    StageAdjustment,
    StageCriterion,
    StageKind,
    StagePanelMember,
    StageResult,
    StageScore,
)
from fellowship.selection.models.stages import DEFAULT_STAGE_NAME, DefaultStageName, stage_name
from fellowship.selection.reasons import REASONS

log = logging.getLogger(__name__)

FOUR_PLACES = Decimal("0.0001")
MAX_STAGES = 10
MAX_REASON_LENGTH = 2000
#: Applications a shortlist ranks: those under review (screened eligible, not decided yet).
SHORTLIST_STATUSES = (ApplicationStatus.UNDER_REVIEW,)


# --- Reading a call's stages ------------------------------------------------------------------------------------

def stages_of(call_id: int) -> list[SelectionStage]:
    """The call's stages in order (an empty list: a one-round call not yet configured)."""
    return list(db.session.scalars(select(SelectionStage).where(SelectionStage.call_id == call_id)
                                   .order_by(SelectionStage.position)))


def first_review_stage(stages: Sequence[SelectionStage]) -> SelectionStage | None:
    """The call's first review round: the one that owns the call's rubric, panel and reviews."""
    return next((s for s in stages if s.kind is StageKind.REVIEW), None)


def stage_criteria(stage: SelectionStage) -> list[StageCriterion]:
    """The rubric of a stage other than the call's first review round (which uses the call's rubric)."""
    return list(db.session.scalars(select(StageCriterion).where(StageCriterion.stage_id == stage.id)
                                   .order_by(StageCriterion.position, StageCriterion.id)))


def stage_panel(stage: SelectionStage) -> list[User]:
    """The members of a stage's panel, by name."""
    return list(db.session.scalars(select(User).join(StagePanelMember, StagePanelMember.user_id == User.id)
                                   .where(StagePanelMember.stage_id == stage.id).order_by(User.full_name, User.id)))


def get_stage(call_id: int, stage_id: int) -> SelectionStage | None:
    return db.session.scalar(select(SelectionStage).where(SelectionStage.id == stage_id,
                                                          SelectionStage.call_id == call_id))


def last_cut_before(stages: Sequence[SelectionStage], position: int | None = None) -> SelectionStage | None:
    """The last confirmed shortlist before `position` (None: before the end)."""
    cuts = [s for s in stages if s.kind is StageKind.SHORTLIST and s.advanced_at is not None
            and (position is None or s.position < position)]
    return cuts[-1] if cuts else None


def shortlisted_query(stage: SelectionStage) -> Select[int]:
    """Ids of the applications in `stage` (e.g. an interview): those advanced at the last confirmed shortlist
    before it (none while it is unconfirmed), by id."""
    cut = last_cut_before(stages_of(stage.call_id), stage.position)
    stmt = select(StageResult.application_id).order_by(StageResult.application_id)
    if cut is None:
        return stmt.where(false())
    return stmt.where(StageResult.stage_id == cut.id, StageResult.advanced.is_(True))


def shortlisted_ids(stage: SelectionStage) -> list[int]:
    """Ids of the applications `stage` takes (see shortlisted_query)."""
    return list(db.session.scalars(shortlisted_query(stage)))


# --- Configuring the stages (before the call closes) ------------------------------------------------------------

def configurable_reason(call: Call) -> str | None:
    """Why the call's stages can no longer be added, removed or reordered, or None."""
    if call.status not in (CallStatus.DRAFT, CallStatus.OPEN) or utcnow() >= call.closes_at:
        return _("The call has closed: its stages can no longer be changed.")
    return None


def _recorded_name(stage: SelectionStage) -> str:
    """The stage's name for the audit log: as staff typed it, else the default in English (the source)."""
    return stage.custom_name or DEFAULT_STAGE_NAME


def ensure_stages(call: Call) -> list[SelectionStage]:
    """The call's stages, creating its one review round first if it has none (a call made before stages)."""
    stages = stages_of(call.id)
    if not stages:
        # No stored name: the default name, shown in each reader's language until staff rename the stage.
        stage = SelectionStage(call_id=call.id, position=1, kind=StageKind.REVIEW, custom_name=None, weight=100,
                               blind=call.blind_review)
        db.session.add(stage)
        db.session.flush()
        stages = [stage]
    return stages


@dataclass(frozen=True, slots=True)
class StageSettings:
    """What staff set on a stage (the page's form, validated)."""

    kind: StageKind
    name: str
    weight: int = 0
    reviewers_per_application: int | None = None
    due_at: datetime | None = None
    blind: bool = False
    advance_count: int | None = None
    advance_by_quota: bool = False


def _validate(settings: StageSettings) -> None:
    if not settings.name.strip():
        raise DomainError(_("Give the stage a name."))
    if not 0 <= settings.weight <= 100:
        raise DomainError(_("A weight is a percentage between 0 and 100."))
    if settings.kind is StageKind.SHORTLIST and settings.weight:
        raise DomainError(_("A shortlist gives no score: its weight is 0."))


def add_stage(call: Call, settings: StageSettings, by: User) -> SelectionStage:
    """Add a stage at the end of the call's selection (before the call closes)."""
    lock_row(Call, call.id)
    reason = configurable_reason(call)
    if reason:
        raise DomainError(reason)
    _validate(settings)
    stages = ensure_stages(call)
    if len(stages) >= MAX_STAGES:
        raise DomainError(_("A call has at most %(n)d stages.", n=MAX_STAGES))
    stage = SelectionStage(call_id=call.id, position=stages[-1].position + 1, kind=settings.kind,
                           name=settings.name.strip(), weight=settings.weight,
                           reviewers_per_application=settings.reviewers_per_application, due_at=settings.due_at,
                           blind=settings.blind, advance_count=settings.advance_count,
                           advance_by_quota=settings.advance_by_quota)
    db.session.add(stage)
    db.session.flush()
    record("selection.stage_added", stage, actor_id=by.id, call_id=call.id, kind=stage.kind.value,
           name=_recorded_name(stage), position=stage.position, weight=stage.weight)
    log.info("stage %s (%s) added to call %s", stage.id, stage.kind.value, call.id)
    return stage


def update_stage(call: Call, stage: SelectionStage, settings: StageSettings, by: User) -> SelectionStage:
    """Change a stage's settings: its kind only before the call closes; weights and counts until it is used."""
    lock_row(Call, call.id)
    _validate(settings)
    if settings.kind is not stage.kind and configurable_reason(call):
        raise DomainError(configurable_reason(call) or "")
    if stage.advanced_at is not None:
        raise DomainError(_("This shortlist has been confirmed: it can no longer be changed."))
    if call.status is CallStatus.DECIDED:
        raise DomainError(_("Decisions have been recorded: the stages can no longer be changed."))
    before = {"kind": stage.kind.value, "name": _recorded_name(stage), "weight": stage.weight,
              "advance_count": stage.advance_count, "advance_by_quota": stage.advance_by_quota}
    name = settings.name.strip()
    # A default-named stage saved with the default as shown (in the editor's language) keeps the default, so it
    # still reads in each reader's language; any other name is the one staff chose.
    keeps_default = stage.custom_name is None and name in (str(stage.name), DEFAULT_STAGE_NAME)
    stage.kind, stage.custom_name, stage.weight = settings.kind, None if keeps_default else name, settings.weight
    stage.reviewers_per_application = settings.reviewers_per_application
    stage.due_at, stage.blind = settings.due_at, settings.blind
    stage.advance_count, stage.advance_by_quota = settings.advance_count, settings.advance_by_quota
    db.session.flush()
    record("selection.stage_changed", stage, actor_id=by.id, call_id=call.id, before=before,
           after={"kind": stage.kind.value, "name": _recorded_name(stage), "weight": stage.weight,
                  "advance_count": stage.advance_count, "advance_by_quota": stage.advance_by_quota})
    return stage


def remove_stage(call: Call, stage: SelectionStage, by: User) -> None:
    """Remove a stage (before the call closes); the call's first review round stays."""
    lock_row(Call, call.id)
    reason = configurable_reason(call)
    if reason:
        raise DomainError(reason)
    stages = stages_of(call.id)
    if stage is first_review_stage(stages):
        raise DomainError(_("The first review round owns the call's rubric and reviews: it cannot be removed."))
    record("selection.stage_removed", stage, actor_id=by.id, call_id=call.id, kind=stage.kind.value,
           name=_recorded_name(stage), position=stage.position)
    db.session.delete(stage)
    db.session.flush()
    # Close the gap in two steps (the unique position must hold after each statement).
    later = [s for s in stages if s.position > stage.position]
    for s in later:
        s.position = -s.position
    db.session.flush()
    for s in later:
        s.position = -s.position - 1
    db.session.flush()


def set_weights(call: Call, weights: dict[int, int], by: User) -> None:
    """Set the scored stages' weights in the final score; they must add up to 100%."""
    lock_row(Call, call.id)
    if call.status is CallStatus.DECIDED:
        raise DomainError(_("Decisions have been recorded: the weights can no longer be changed."))
    stages = [s for s in ensure_stages(call) if s.scored]
    if any(w < 0 or w > 100 for w in weights.values()):
        raise DomainError(_("A weight is a percentage between 0 and 100."))
    total = sum(weights.get(s.id, s.weight) for s in stages)
    if total != 100:
        raise DomainError(_("The weights add up to %(total)d%%; they must add up to 100%%.", total=total))
    before = {s.id: s.weight for s in stages}
    for s in stages:
        s.weight = weights.get(s.id, s.weight)
    db.session.flush()
    record("selection.stage_weights_set", call, actor_id=by.id, before=before,
           after={s.id: s.weight for s in stages})


# --- Scores of stages -------------------------------------------------------------------------------------------

def store_stage_scores(stage: SelectionStage,
                       rows: Iterable[tuple[int, Decimal | None, Decimal | None, int]]) -> None:
    """Replace the stage's per-application scores (application_id, raw, normalised, count): the interviews area's
    way into the final ranking. The call's stored proposals become stale (ranking.py's listener)."""
    if not stage.scored or stage is first_review_stage(stages_of(stage.call_id)):
        raise DomainError(_("Only a later review round or an interview stores its scores here."))
    only_this_call = {"ranking_call_id": stage.call_id}
    db.session.execute(delete(StageScore).where(StageScore.stage_id == stage.id).execution_options(**only_this_call))
    values = [{"stage_id": stage.id, "application_id": a, "call_id": stage.call_id, "raw_score": raw,
               "normalised_score": norm, "score_count": n, "updated_at": utcnow()} for a, raw, norm, n in rows]
    if values:
        db.session.execute(insert(StageScore).execution_options(**only_this_call), values)


@dataclass(frozen=True, slots=True)
class Weighted:
    """A scored stage as the combined score reads it: its id, weight, and whether it is the call's review round."""

    stage_id: int
    name: str
    weight: int
    first_review: bool


@dataclass(frozen=True, slots=True)
class Scoring:
    """How a call's applications are scored at some point: the weighted stages, and the cut they must have passed.

    `plain` is today's one-round scoring (the review round's score alone, nobody cut): the ranking then runs
    exactly as before stages existed.
    """

    stages: tuple[Weighted, ...]
    cut_stage_id: int | None

    @property
    def plain(self) -> bool:
        return self.cut_stage_id is None and all(s.first_review for s in self.stages)

    def to_json(self) -> dict[str, Any]:
        """The scoring as a stored proposal keeps it; a stage with the default name keeps none (each reader sees the
        default in their own language)."""
        return {"stages": [[w.stage_id, None if isinstance(w.name, DefaultStageName) else str(w.name), w.weight,
                            w.first_review] for w in self.stages],
                "cut": self.cut_stage_id}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Scoring:
        return cls(tuple(Weighted(stage_id, stage_name(name), weight, first_review)
                         for stage_id, name, weight, first_review in data["stages"]), data["cut"])


def scoring_of(stages: Sequence[SelectionStage], before: int | None = None) -> Scoring:
    """The scoring of the stages before position `before` (None: the final scoring, over every stage)."""
    first = first_review_stage(stages)
    scored = [s for s in stages if s.scored and (before is None or s.position < before)]
    weighted = tuple(Weighted(s.id, s.name, s.weight, s is first) for s in scored if s.weight > 0 or s is first)
    if not any(w.weight for w in weighted):  # no weights set: the stages count alike
        weighted = tuple(Weighted(w.stage_id, w.name, 1, w.first_review) for w in weighted)
    else:
        weighted = tuple(w for w in weighted if w.weight > 0)
    if not weighted:
        weighted = (Weighted(first.id if first else 0, first.name if first else stage_name(None), 100, True),)
    cut = last_cut_before(stages, before)
    return Scoring(weighted, cut.id if cut else None)


def scoring_for_call(call_id: int) -> Scoring:
    """The call's final scoring (one query)."""
    return scoring_of(stages_of(call_id))


def score_expression(scoring: Scoring, sort: str, application_id: Any) -> tuple[Any, list[tuple[Any, Any]]]:
    """(the combined score as SQL, the outer joins it needs besides ApplicationScore) for `application_id`.

    Σ weight × stage score / Σ weight, rounded to 4 places; NULL when a weighted stage has no score or the
    application did not advance at the cut. The first review round's score is ApplicationScore's (raw or
    normalised by `sort`); the others are StageScore rows.
    """
    review = ApplicationScore.raw_mean if sort == "raw" else ApplicationScore.normalised_mean
    joins: list[tuple[Any, Any]] = []
    parts: list[Any] = []
    total = sum(w.weight for w in scoring.stages)
    for w in scoring.stages:
        if w.first_review:
            column = review
        else:
            alias = aliased(StageScore, name=f"stage_score_{w.stage_id}")
            joins.append((alias, and_(alias.stage_id == w.stage_id, alias.application_id == application_id)))
            column = alias.raw_score if sort == "raw" else alias.normalised_score
        parts.append(column * w.weight)
    combined: Any = parts[0]
    for part in parts[1:]:
        combined = combined + part
    combined = func.round(combined / total, 4)
    if scoring.cut_stage_id is not None:
        result = aliased(StageResult, name="cut_result")
        joins.append((result, and_(result.stage_id == scoring.cut_stage_id, result.application_id == application_id)))
        combined = case((result.advanced.is_(True), combined), else_=None)
    return combined, joins


# --- The cut at a shortlist -------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class CutLine:
    """One candidate at a shortlist: rank, score, whether the proposal advances them, and why."""

    application_id: int
    reference: str | None
    name: str
    region: str | None
    rank: int | None
    score: Decimal | None
    advances: bool
    #: Why, as a message shown in the reader's language (stored with the result once confirmed).
    reason: StoredMessage
    adjustment: str | None = None
    adjustment_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Cut:
    stage: SelectionStage
    advancing: list[CutLine]
    not_advancing: list[CutLine]
    explanation: list[str]
    feasible: bool


def _candidates_query(stage: SelectionStage, scoring: Scoring) -> Any:
    score, joins = score_expression(scoring, "normalised", Application.id)
    stmt = (select(Application.id, Application.reference, Application.given_name, Application.family_name,
                   Application.region, score.label("score"), StageAdjustment.action, StageAdjustment.reason)
            .outerjoin(ApplicationScore, ApplicationScore.application_id == Application.id))
    for target, on in joins:
        stmt = stmt.outerjoin(target, on)
    stmt = stmt.outerjoin(StageAdjustment, and_(StageAdjustment.stage_id == stage.id,
                                                StageAdjustment.application_id == Application.id))
    stmt = stmt.where(Application.call_id == stage.call_id, Application.status.in_(SHORTLIST_STATUSES))
    if scoring.cut_stage_id is not None:  # only those still in
        stmt = stmt.where(select(StageResult.application_id).where(
            StageResult.stage_id == scoring.cut_stage_id, StageResult.application_id == Application.id,
            StageResult.advanced.is_(True)).exists())
    return stmt


def propose_cut(call: Call, stage: SelectionStage) -> Cut:
    """Who the shortlist advances: the top `advance_count` by the stages before it, the call's quotas applied to
    those places when `advance_by_quota`, after the chair's adjustments (the ranking's own propose_selection)."""
    from fellowship.selection.ranking import Candidate, _rank_key, propose_selection, quotas_of

    if stage.kind is not StageKind.SHORTLIST:
        raise DomainError(_("Only a shortlist advances candidates."))
    if stage.advance_count is None:
        raise DomainError(_("Set how many candidates this shortlist advances first."))
    stages = stages_of(call.id)
    scoring = scoring_of(stages, stage.position)
    rows = db.session.execute(_candidates_query(stage, scoring)).all()
    candidates = [Candidate(r[0], r.region, r.score) for r in rows]
    adjustments = {r[0]: AdjustmentAction(r.action).value for r in rows if r.action is not None}
    quotas = quotas_of(call) if stage.advance_by_quota else {}
    proposal = propose_selection(candidates, stage.advance_count, quotas, adjustments)
    ranked = {c.application_id: n for n, c in enumerate(
        sorted((c for c in candidates if c.score is not None), key=_rank_key), start=1)}
    by_id = {r[0]: r for r in rows}

    def line(application_id: int, advances: bool) -> CutLine:
        r = by_id[application_id]
        rank = ranked.get(application_id)
        if application_id in proposal.included:
            why = REASONS("advances_included")
        elif application_id in proposal.excluded:
            why = REASONS("not_advancing_excluded")
        elif application_id in proposal.by_quota:
            why = REASONS("advances_quota", rank=rank or 0, region=r.region)
        elif advances:
            why = REASONS("advances_rank", rank=rank or 0)
        elif rank is None:
            why = REASONS("not_advancing_unscored")
        else:
            why = REASONS("not_advancing_rank", rank=rank, n=stage.advance_count)
        return CutLine(application_id, r.reference, " ".join(p for p in (r.given_name, r.family_name) if p),
                       r.region, rank, r.score, advances, why,
                       AdjustmentAction(r.action).value if r.action else None, r.reason)

    advancing = [line(i, True) for i in proposal.selected]
    chosen = set(proposal.selected)
    rest = sorted((i for i in by_id if i not in chosen),
                  key=lambda i: (ranked.get(i) is None, ranked.get(i) or 0, i))
    return Cut(stage, advancing, [line(i, False) for i in rest], proposal.explanation, proposal.feasible)


def adjust_at_stage(call: Call, stage: SelectionStage, application: Application, action: str, reason: str,
                    by: User) -> None:
    """The chair includes, excludes or clears one candidate at a shortlist, with a reason (before it is confirmed)."""
    reason = (reason or "").strip()
    if action not in ("include", "exclude", "clear"):
        raise DomainError(_("Choose include, exclude or clear."))
    if not reason:
        raise DomainError(_("Give a reason."))
    if len(reason) > MAX_REASON_LENGTH:
        raise DomainError(_("Keep the reason under %(n)d characters.", n=MAX_REASON_LENGTH))
    lock_row(SelectionStage, stage.id)
    db.session.refresh(stage, ["advanced_at"])
    if stage.advanced_at is not None:
        raise DomainError(_("This shortlist has been confirmed: it can no longer be adjusted."))
    if application.call_id != call.id or application.status not in SHORTLIST_STATUSES:
        raise DomainError(_("Only applications at this shortlist can be adjusted."))
    existing = db.session.scalar(select(StageAdjustment).where(StageAdjustment.stage_id == stage.id,
                                                               StageAdjustment.application_id == application.id))
    previous = existing.action.value if existing else None
    if action == "clear":
        if existing is None:
            raise DomainError(_("There is no adjustment to clear."))
        db.session.delete(existing)
    else:
        adjustment = existing or StageAdjustment(stage_id=stage.id, application_id=application.id)
        adjustment.action, adjustment.reason = AdjustmentAction(action), reason
        adjustment.made_by_id, adjustment.made_at = by.id, utcnow()
        db.session.add(adjustment)
    db.session.flush()
    record("selection.stage_adjusted", application, actor_id=by.id, stage_id=stage.id, call_id=call.id,
           adjustment=action, previous=previous, reason=reason, reference=application.reference)


def confirm_advancing(call: Call, stage: SelectionStage, by: User) -> Cut:
    """Fix the shortlist as proposed now: one StageResult per candidate, under the stage's row lock (once).

    With the call's references at shortlist, the advanced candidates' referees are invited now.
    """
    from fellowship.referees.services import invite_named_referees

    lock_row(SelectionStage, stage.id)
    db.session.refresh(stage, ["advanced_at"])
    if stage.advanced_at is not None:
        raise DomainError(_("This shortlist has already been confirmed."))
    earlier = [s for s in stages_of(call.id) if s.kind is StageKind.SHORTLIST and s.position < stage.position]
    if any(s.advanced_at is None for s in earlier):
        raise DomainError(_("Confirm the earlier shortlist first."))
    cut = propose_cut(call, stage)
    values = [{"stage_id": stage.id, "application_id": line.application_id, "call_id": call.id,
               "advanced": line.advances, "position": line.rank, "score": line.score,
               "reason": line.reason.english(), "reason_message": line.reason.to_json()}
              for line in (*cut.advancing, *cut.not_advancing)]
    if values:
        db.session.execute(insert(StageResult).execution_options(ranking_call_id=call.id), values)
    stage.advanced_at, stage.advanced_by_id = utcnow(), by.id
    db.session.flush()
    advanced = [line.application_id for line in cut.advancing]
    invited = invite_named_referees(advanced) if call.references_at_shortlist else 0
    record("selection.stage_advanced", stage, actor_id=by.id, call_id=call.id, name=_recorded_name(stage),
           advanced=len(advanced), not_advanced=len(cut.not_advancing), referees_invited=invited)
    log.info("shortlist %s of call %s confirmed: %s advance, %s do not", stage.id, call.id, len(advanced),
             len(cut.not_advancing))
    return cut


def send_outcome(call: Call, stage: SelectionStage, by: User) -> int:
    """Queue the "not shortlisted" email to each candidate who did not advance, once each; the number queued.

    Each result is claimed by a conditional UPDATE (notified_at IS NULL), so two sends at once, or a second send,
    never email anybody twice; the outbox's dedupe key is a second guard.
    """
    from fellowship import signals
    from fellowship.notifications.services import queue_email

    if stage.advanced_at is None:
        raise DomainError(_("Confirm who advances before sending the outcome."))
    now = utcnow()
    claimed = list(db.session.execute(
        update(StageResult)
        .where(StageResult.stage_id == stage.id, StageResult.advanced.is_(False), StageResult.notified_at.is_(None))
        .values(notified_at=now).returning(StageResult.application_id)
        .execution_options(synchronize_session=False)).scalars())
    first_send = cast(CursorResult[Any], db.session.execute(
        update(SelectionStage).where(SelectionStage.id == stage.id, SelectionStage.outcome_sent_at.is_(None))
        .values(outcome_sent_at=now).execution_options(synchronize_session=False))).rowcount
    if claimed:
        recipients = db.session.execute(
            select(Application.id, Application.reference, User.email, User.full_name)
            .join(User, User.id == Application.applicant_id).where(Application.id.in_(claimed))).all()
        for application_id, reference, email, name in recipients:
            queue_email(email, "selection/not_shortlisted",
                        dedupe_key=f"stage-{stage.id}-not-advanced-{application_id}",
                        name=name, call_title=call.title, reference=reference, stage_name=stage.name)
    db.session.refresh(stage, ["outcome_sent_at"])
    if first_send:
        advanced = list(db.session.scalars(select(StageResult.application_id).where(
            StageResult.stage_id == stage.id, StageResult.advanced.is_(True))))
        signals.stage_outcome_sent.send(stage, advanced_ids=advanced)
    record("selection.stage_outcome_sent", stage, actor_id=by.id, call_id=call.id, name=_recorded_name(stage),
           emails=len(claimed))
    log.info("outcome of shortlist %s sent: %s not-shortlisted emails queued", stage.id, len(claimed))
    return len(claimed)


def results_of(stage: SelectionStage, advanced: bool) -> Select[*tuple[Any, ...]]:
    """The confirmed results of a shortlist, advanced or not, by rank (for paginate())."""
    return (select(StageResult.application_id, StageResult.position, StageResult.score, StageResult.reason,
                   StageResult.reason_message, StageResult.notified_at, Application.reference, Application.given_name,
                   Application.family_name, Application.region)
            .join(Application, Application.id == StageResult.application_id)
            .where(StageResult.stage_id == stage.id, StageResult.advanced.is_(advanced))
            .order_by(StageResult.position.is_(None), StageResult.position, StageResult.application_id))


def quantize(value: Decimal | float | None) -> Decimal | None:
    return None if value is None else Decimal(value).quantize(FOUR_PLACES, rounding=ROUND_HALF_UP)



def pending_outcome_count(stage: SelectionStage) -> int:
    """How many "not shortlisted" emails sending the outcome would queue now."""
    return db.session.scalar(select(func.count()).select_from(StageResult).where(
        StageResult.stage_id == stage.id, StageResult.advanced.is_(False), StageResult.notified_at.is_(None))) or 0


def set_references_at_shortlist(call: Call, value: bool, by: User) -> None:
    """Ask for references at shortlist (or when referees are named); only before the call closes."""
    reason = configurable_reason(call)
    if reason:
        raise DomainError(reason)
    if call.references_at_shortlist != value:
        call.references_at_shortlist = value
        db.session.flush()
        record("selection.references_at_shortlist", call, actor_id=by.id, value=value)
