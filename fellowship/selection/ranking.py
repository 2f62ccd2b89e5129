"""The ranking: a quota-respecting proposed selection, waitlist promotion, the ranking page's queries, adjustments.

`propose_selection` and `promotion_candidate` are pure functions over plain values (worked examples test them by
hand); the rest reads the database in a fixed number of queries, whatever the number of applications.
"""

from __future__ import annotations

import bisect
import functools
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, Literal

from flask_babel import gettext as _
from flask_babel import ngettext
from markupsafe import escape
from sqlalchemy import (
    Integer,
    Select,
    and_,
    bindparam,
    case,
    delete,
    event,
    func,
    insert,
    literal,
    null,
    select,
    union_all,
    update,
)
from sqlalchemy import false as sa_false
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import ORMExecuteState, Session, aliased, lazyload

from fellowship.applications.models import Application, ApplicationStatus
from fellowship.audit.services import record
from fellowship.auth.models import User
from fellowship.cached import flushed_scopes, statement_scopes
from fellowship.calls.models import Call, RegionalQuota
from fellowship.errors import DomainError
from fellowship.extensions import db
from fellowship.geo import region_name
from fellowship.i18n.messages import StoredMessage
from fellowship.models import utcnow
from fellowship.pagination import Page, paginate
from fellowship.selection import stages
from fellowship.selection.models import (
    AdjustmentAction,
    ApplicationScore,
    Assignment,
    AssignmentStatus,
    CombinedRank,
    RankingProposal,
    ReviewerStrictness,
    SelectionAdjustment,
    SelectionStage,
    StageResult,
    StageScore,
)
from fellowship.selection.reasons import REASONS
from fellowship.words import COUNTED_WORDS, N_

log = logging.getLogger(__name__)

Sort = Literal["normalised", "raw"]
SORTS: tuple[Sort, ...] = ("normalised", "raw")
Score = Decimal | float | int

#: Applications the ranking shows: those that passed screening, decided or not (withdrawn ones leave it).
RANKED_STATUSES = (ApplicationStatus.UNDER_REVIEW, ApplicationStatus.ACCEPTED, ApplicationStatus.WAITLISTED,
                   ApplicationStatus.REJECTED, ApplicationStatus.OFFER_ACCEPTED, ApplicationStatus.OFFER_DECLINED)
#: Applications that compete for a place in the proposal (one who declined an offer no longer does).
PROPOSAL_STATUSES = tuple(s for s in RANKED_STATUSES if s is not ApplicationStatus.OFFER_DECLINED)
MAX_REASON_LENGTH = 2000
#: Said of a waitlisted application ranked above one selected for a quota seat: why it is not selected.
PASSED_OVER = N_("(a quota seat went to a lower rank)")
#: The proposal's label of an application selected only to meet a quota (stored in English, shown translated).
SELECTED_BY_QUOTA = N_("Selected (quota)")


# --- The proposed selection (pure) ---------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Candidate:
    """One application competing for a place: its region and its score under the chosen sort (None: no reviews)."""

    application_id: int
    region: str | None
    score: Score | None
    #: False when the application has fewer submitted reviews than the call asks for (flagged, still ranked).
    has_enough_reviews: bool = True


@dataclass(frozen=True, slots=True)
class QuotaSeats:
    """A regional quota as the proposal meets it: the minimum number of seats and how many the region got."""

    region: str
    percent: int
    minimum: int
    proposed: int

    @property
    def met(self) -> bool:
        return self.proposed >= self.minimum


@dataclass(frozen=True, slots=True)
class Proposal:
    """The proposed selection and waitlist, both in rank order, with why; `feasible` is False if a quota is unmet."""

    selected: list[int]
    waitlist: list[int]
    explanation: list[str]
    feasible: bool
    places: int = 0
    seats: list[QuotaSeats] = field(default_factory=list)
    #: Selected only to meet a quota: ranked below someone the proposal leaves out.
    by_quota: frozenset[int] = frozenset()
    included: frozenset[int] = frozenset()
    excluded: frozenset[int] = frozenset()
    #: Applications without a score: not ranked, so neither selected (unless included) nor waitlisted.
    unranked: list[int] = field(default_factory=list)
    #: Waitlisted although ranked above someone selected for a quota seat (the quota, not the rank, decided).
    passed_over: frozenset[int] = frozenset()
    _selected_set: frozenset[int] = field(init=False, repr=False, compare=False)
    _waitlist_index: dict[int, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_selected_set", frozenset(self.selected))
        object.__setattr__(self, "_waitlist_index", {i: n for n, i in enumerate(self.waitlist, start=1)})

    def status_message(self, application_id: int) -> str | None:
        """How the proposal treats a selected or excluded application, as a message (English) that the stored
        proposal keeps and pages translate when they show it; None for the others."""
        if application_id in self.excluded:
            return N_("Excluded by the chair")
        if application_id in self.included:
            return N_("Selected (included by the chair)")
        if application_id in self.by_quota:
            return SELECTED_BY_QUOTA
        if application_id in self._selected_set:
            return N_("Selected")
        return None

    def status_of(self, application_id: int) -> str:
        """How the proposal treats one application, in words for the page and the exports (the reader's language)."""
        message = self.status_message(application_id)
        if message is not None:
            return _(message)
        position = self.waitlist_position(application_id)
        if position is not None and application_id in self.passed_over:
            return _("Waitlist %(position)d %(passed_over)s", position=position, passed_over=_(PASSED_OVER))
        if position is not None:
            return _("Waitlist %(position)d", position=position)
        return _("Not ranked")

    def waitlist_position(self, application_id: int) -> int | None:
        """1-based position on the proposed waitlist, or None."""
        return self._waitlist_index.get(application_id)

    def is_selected(self, application_id: int) -> bool:
        return application_id in self._selected_set


def minimum_seats(percent: int, places: int) -> int:
    """Seats a quota of "at least `percent`% of `places`" needs: the ceiling, in exact integer arithmetic."""
    return -(-percent * places // 100)


def _rank_key(candidate: Candidate) -> tuple[bool, Score, int]:
    """Best score first, unscored last, ties broken by application id so the order is always the same."""
    return (candidate.score is None, -(candidate.score or 0), candidate.application_id)



#: Each line a proposal's explanation may hold, by key: its message, filled with the line's parameters in the
#: reader's language where it is shown (a parameter `num` chooses the plural form).
LINES: dict[str, Any] = {
    "quota_none": lambda **p: _(
        "%(region)s needs at least %(minimum)d of %(places)d places (%(percent)d%%) but no candidate from "
        "%(region)s is ranked.", **p),
    "quota_only": lambda num, **p: ngettext(
        "%(region)s needs at least %(minimum)d of %(places)d places (%(percent)d%%) but only %(num)d candidate "
        "from %(region)s is ranked.",
        "%(region)s needs at least %(minimum)d of %(places)d places (%(percent)d%%) but only %(num)d candidates "
        "from %(region)s are ranked.", num, **p),
    "quota_none_excluded": lambda **p: _(
        "%(region)s needs at least %(minimum)d of %(places)d places (%(percent)d%%) but no candidate from "
        "%(region)s is ranked and not excluded by the chair (%(excluded)d excluded).", **p),
    "quota_only_excluded": lambda num, **p: ngettext(
        "%(region)s needs at least %(minimum)d of %(places)d places (%(percent)d%%) but only %(num)d candidate "
        "from %(region)s is ranked and not excluded by the chair (%(excluded)d excluded).",
        "%(region)s needs at least %(minimum)d of %(places)d places (%(percent)d%%) but only %(num)d candidates "
        "from %(region)s are ranked and not excluded by the chair (%(excluded)d excluded).", num, **p),
    "too_many_included": lambda num, **p: ngettext(
        "The chair included %(applications)s but the call has only %(num)d place.",
        "The chair included %(applications)s but the call has only %(num)d places.", num, **p),
    "quotas_over_places": lambda num, **p: ngettext(
        "The quotas need at least %(total)d places (%(regions)s) but the call has only %(num)d place.",
        "The quotas need at least %(total)d places (%(regions)s) but the call has only %(num)d places.", num, **p),
    "quotas_over_inclusions": lambda num, **p: ngettext(
        "The quotas need %(needed)s (%(regions)s) but only %(num)d place is left after the chair's inclusions.",
        "The quotas need %(needed)s (%(regions)s) but only %(num)d places are left after the chair's inclusions.",
        num, **p),
    "quota_met": lambda **p: _(
        "%(region)s needs at least %(minimum)d of %(places)d places (%(percent)d%%): %(proposed)d proposed.", **p),
    "quota_met_moved": lambda num, **p: ngettext(
        "%(region)s needs at least %(minimum)d of %(places)d places (%(percent)d%%): %(proposed)d proposed, "
        "%(num)d of them moved up over higher-ranked candidates.",
        "%(region)s needs at least %(minimum)d of %(places)d places (%(percent)d%%): %(proposed)d proposed, "
        "%(num)d of them moved up over higher-ranked candidates.", num, **p),
    "too_few_candidates": lambda num, **p: ngettext(
        "Only %(applications)s can be proposed for %(num)d place.",
        "Only %(applications)s can be proposed for %(num)d places.", num, **p),
    "fewer_reviews": lambda num, **p: ngettext(
        "%(num)d proposed application has fewer reviews than the call asks for.",
        "%(num)d proposed applications have fewer reviews than the call asks for.", num, **p),
    "unreviewed": lambda num, **p: ngettext(
        "%(num)d application without a submitted review is not ranked.",
        "%(num)d applications without a submitted review are not ranked.", num, **p),
    "unscored_stages": lambda num, **p: ngettext(
        "%(num)d application without a score in every stage is not ranked.",
        "%(num)d applications without a score in every stage are not ranked.", num, **p),
    "best_effort": lambda **p: _(
        "This proposal cannot meet every quota and is only a best effort: quota seats go to each region's "
        "best-ranked candidates while places last, the other places by rank."),
}


def _value(key: str, value: Any) -> Any:
    """A line's parameter as the reader reads it: a region named in their language, [[region, seats], ...] as
    "Africa 2, Asia 3", {"counted": word, "num": n} as "2 applications"; numbers as they are."""
    if key == "region":
        return region_name(value)
    if key == "regions":
        return ", ".join(f"{region_name(region)} {seats}" for region, seats in value)
    if isinstance(value, dict) and "counted" in value:
        return COUNTED_WORDS[value["counted"]](value["num"])
    return value


class Explanation(str):
    """One line of a proposal's explanation, kept as a message key and its parameters (JSON, in the stored
    proposal) so that each reader sees it in their own language; as a str it reads as when it was made."""

    key: str
    params: dict[str, Any]

    def __new__(cls, key: str, **params: Any) -> Explanation:
        line = super().__new__(cls, _line_text(key, params))
        line.key, line.params = key, params
        return line

    def translated(self) -> str:
        """The line in the language being rendered."""
        return _line_text(self.key, self.params)

    def __html__(self) -> str:
        return str(escape(self.translated()))

    def to_json(self) -> list[Any]:
        return [self.key, self.params]

    @classmethod
    def from_json(cls, value: Any) -> str:
        """A stored line: [key, params], or the English text a proposal stored before its lines were messages."""
        if isinstance(value, list) and len(value) == 2 and value[0] in LINES:
            return cls(value[0], **value[1])
        return str(value)


def _line_text(key: str, params: Mapping[str, Any]) -> str:
    return str(LINES[key](**{name: _value(name, value) for name, value in params.items()}))


def _shortage(region: str, minimum: int, places: int, percent: int, available: int,
              excluded: int) -> Explanation:
    need = {"region": region, "minimum": minimum, "places": places, "percent": percent}
    key = "quota_none" if available == 0 else "quota_only"
    if excluded:
        need["excluded"] = excluded
        key += "_excluded"
    return Explanation(key, **need) if available == 0 else Explanation(key, num=available, **need)


def propose_selection(candidates: Sequence[Candidate], places: int, quotas: Mapping[str, int],
                      adjustments: Mapping[int, str] | None = None, *, unranked_count: int | None = None,
                      unranked_words: Literal["unreviewed", "unscored_stages"] | None = None) -> Proposal:
    """Fill `places` by rank while giving each quota region its minimum seats, after the chair's adjustments.

    Inclusions are selected and exclusions never are; then each quota region gets its minimum seats
    (ceil(percent x places / 100)) from its best-ranked candidates; the remaining places go by rank to everybody.
    An unmeetable quota gives feasible=False, the reasons, and a best-effort list (never a silently wrong one).
    `unranked_count` counts the unscored applications when `candidates` leave them out (the stored proposal passes
    only those that can be selected); `unranked_words` says why they are unscored (a key of LINES).
    """
    adjustments = adjustments or {}
    by_id = {c.application_id: c for c in candidates}
    included = frozenset(i for i, a in adjustments.items() if a == AdjustmentAction.INCLUDE and i in by_id)
    excluded = frozenset(i for i, a in adjustments.items() if a == AdjustmentAction.EXCLUDE and i in by_id)
    ranked = sorted((c for c in candidates if c.score is not None), key=_rank_key)
    unranked = sorted(c.application_id for c in candidates
                      if c.score is None and c.application_id not in included)
    available = [c for c in ranked if c.application_id not in excluded and c.application_id not in included]
    problems: list[str] = []  # each an Explanation (a str that keeps its message)
    notes: list[str] = []

    selected: set[int] = set(included)
    if len(included) > places:
        problems.append(Explanation("too_many_included", num=places,
                                    applications={"counted": "application", "num": len(included)}))
    remaining = max(places - len(selected), 0)

    # Minimum seats per quota region, and the region's best-ranked candidates to fill what inclusions leave.
    minimums = {region: minimum_seats(percent, places) for region, percent in sorted(quotas.items())}
    total_minimum = sum(minimums.values())
    if total_minimum > places:
        problems.append(Explanation("quotas_over_places", num=places, total=total_minimum,
                                    regions=[[region, n] for region, n in minimums.items() if n]))
    demand: list[Candidate] = []
    short_by: dict[str, int] = {}
    for region, minimum in minimums.items():
        have = sum(1 for i in included if by_id[i].region == region)
        need = max(minimum - have, 0)
        if not need:
            continue
        pool = [c for c in available if c.region == region]
        if len(pool) < need:
            region_excluded = sum(1 for i in excluded if by_id[i].region == region and by_id[i].score is not None)
            problems.append(_shortage(region, minimum, places, quotas[region], have + len(pool), region_excluded))
        demand.extend(pool[:need])
        short_by[region] = need
    demand.sort(key=_rank_key)
    if len(demand) > remaining and total_minimum <= places and included:
        problems.append(Explanation("quotas_over_inclusions", num=remaining,
                                    needed={"counted": "more place", "num": len(demand)},
                                    regions=[[region, n] for region, n in short_by.items()]))
    reserved = [c.application_id for c in demand[:remaining]]  # best effort: the best-ranked of the demand
    selected.update(reserved)

    # The remaining places, by rank, from everybody.
    free = places - len(selected)
    for candidate in available:
        if free <= 0:
            break
        if candidate.application_id not in selected:
            selected.add(candidate.application_id)
            free -= 1
    pure_rank = {c.application_id for c in available[:remaining]}
    by_quota = frozenset(i for i in reserved if i not in pure_rank)

    order = sorted((by_id[i] for i in selected), key=_rank_key)
    selected_ids = [c.application_id for c in order]
    waitlist = [c.application_id for c in available if c.application_id not in selected]
    lowest_by_quota = max((_rank_key(by_id[i]) for i in by_quota), default=None)
    passed_over = frozenset(i for i in waitlist
                            if lowest_by_quota is not None and _rank_key(by_id[i]) < lowest_by_quota)
    seats = [QuotaSeats(region, quotas[region], minimum, sum(1 for i in selected_ids if by_id[i].region == region))
             for region, minimum in minimums.items()]

    for quota in seats:
        moved = sum(1 for i in by_quota if by_id[i].region == quota.region)
        if quota.minimum and quota.met:
            seats_line = {"region": quota.region, "minimum": quota.minimum, "places": places,
                          "percent": quota.percent, "proposed": quota.proposed}
            notes.append(Explanation("quota_met_moved", num=moved, **seats_line) if moved
                         else Explanation("quota_met", **seats_line))
    if len(selected_ids) < places and not problems:
        notes.append(Explanation("too_few_candidates", num=places,
                                 applications={"counted": "application", "num": len(selected_ids)}))
    missing = sum(1 for i in selected_ids if not by_id[i].has_enough_reviews)
    if missing:
        notes.append(Explanation("fewer_reviews", num=missing))
    unscored = len(unranked) if unranked_count is None else unranked_count
    if unscored:
        notes.append(Explanation(unranked_words or "unreviewed", num=unscored))
    feasible = not problems
    if not feasible:
        problems.append(Explanation("best_effort"))
    return Proposal(selected=selected_ids, waitlist=waitlist, explanation=problems + notes, feasible=feasible,
                    places=places, seats=seats, by_quota=by_quota, included=included, excluded=excluded,
                    unranked=unranked, passed_over=passed_over)


# --- Waitlist promotion (pure) ---------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Promotion:
    """Whom to offer a freed place (None: nobody) and why (a message of selection.reasons, kept in the decision)."""

    application_id: int | None
    explanation: StoredMessage


def promotion_candidate(selected_ids: Iterable[int], waitlist_ids_in_order: Sequence[int],
                        regions: Mapping[int, str | None], places: int, quotas: Mapping[str, int],
                        freed_id: int) -> Promotion:
    """The waitlisted candidate to offer the place `freed_id` gave up, keeping every regional quota met.

    `selected_ids` are the applications holding a place (with or without `freed_id`); `regions` maps ids of the
    selected, the waitlisted and `freed_id` to their region. If a quota region is now below its minimum (the
    freed region first), its best waitlisted candidate is chosen, even if ranked lower; otherwise the first.
    """
    holding = [i for i in dict.fromkeys(selected_ids) if i != freed_id]
    holding_set = set(holding)
    waitlist = [i for i in waitlist_ids_in_order if i != freed_id and i not in holding_set]
    if not waitlist:
        return Promotion(None, REASONS("waitlist_empty"))
    if len(holding) >= places:
        return Promotion(None, REASONS("places_taken", num=places))
    counts: dict[str | None, int] = {}
    for i in holding:
        counts[regions.get(i)] = counts.get(regions.get(i), 0) + 1
    short = [region for region, percent in sorted(quotas.items())
             if counts.get(region, 0) < minimum_seats(percent, places)]
    freed_region = regions.get(freed_id)
    position = {i: n for n, i in enumerate(waitlist)}
    best_from = {region: next((i for i in waitlist if regions.get(i) == region), None) for region in short}

    def urgency(region: str) -> tuple[bool, int, str]:
        """The freed place's own region first, then the region whose best waitlisted candidate ranks highest."""
        best = best_from[region]
        return (region != freed_region, position[best] if best is not None else len(waitlist), region)

    order = sorted(short, key=urgency)
    for region in order:
        best = best_from[region]
        if best is not None:
            key = "promoted_for_quota" if best == waitlist[0] else "promoted_for_quota_ahead"
            return Promotion(best, REASONS(key, region=region, minimum=minimum_seats(quotas[region], places),
                                           places=places, percent=quotas[region]))
    if short:
        return Promotion(waitlist[0], REASONS("quotas_unrestorable", num=len(short), regions=short))
    return Promotion(waitlist[0], REASONS("quotas_stay_met"))


# --- Reading the call's ranking from the database ---------------------------------------------------------------

def parse_sort(value: str | None) -> Sort:
    """The sort the page asked for; anything unknown falls back to the normalised score."""
    return "raw" if value == "raw" else "normalised"


def score_column(sort: Sort) -> Any:
    return ApplicationScore.raw_mean if sort == "raw" else ApplicationScore.normalised_mean


def quotas_of(call: Call) -> dict[str, int]:
    """The call's regional quotas as region -> minimum share in percent."""
    return {quota.region: quota.min_share_percent for quota in call.quotas}


def final_score(scoring: stages.Scoring, sort: Sort, application_id: Any) -> tuple[Any, list[tuple[Any, Any]]]:
    """The final ranking's score as SQL and the joins it needs besides ApplicationScore: the review round's score
    for a one-round call (as before stages), else the stages' combined score among those still in (stages.py)."""
    if scoring.plain:
        return score_column(sort), []
    return stages.score_expression(scoring, sort, application_id)


def load_candidates(call: Call, sort: Sort,
                    scoring: stages.Scoring | None = None) -> tuple[list[Candidate], dict[int, str]]:
    """Every competing application's (id, region, score, review count) and the chair's adjustments: one query
    (and one for the call's stages when `scoring` is not given)."""
    scoring = scoring or stages.scoring_for_call(call.id)
    score, joins = final_score(scoring, sort, Application.id)
    stmt = (select(Application.id, Application.region, score, ApplicationScore.review_count,
                   SelectionAdjustment.action)
            .outerjoin(ApplicationScore, ApplicationScore.application_id == Application.id))
    for target, on in joins:
        stmt = stmt.outerjoin(target, on)
    rows = db.session.execute(
        stmt.outerjoin(SelectionAdjustment, SelectionAdjustment.application_id == Application.id)
        .where(Application.call_id == call.id, Application.status.in_(PROPOSAL_STATUSES))
    ).all()
    enough = call.reviewers_per_application
    candidates = [Candidate(row[0], row[1], row[2], (row[3] or 0) >= enough) for row in rows]
    adjustments = {row[0]: AdjustmentAction(row[4]).value for row in rows if row[4] is not None}
    return candidates, adjustments


def proposal_for_call(call: Call, sort: Sort = "normalised") -> Proposal:
    """The proposed selection of a call under `sort`, with the chair's adjustments: one query."""
    candidates, adjustments = load_candidates(call, sort)
    return propose_selection(candidates, call.places, quotas_of(call), adjustments)


# --- The stored proposal: computed once per change of its inputs, read a page at a time ----------------------------

#: Attributes of these entities feed the proposal (None: any change, insert or delete of a row does).
_PROPOSAL_INPUTS: dict[type, tuple[str, ...] | None] = {
    Application: ("status", "region", "call_id"),
    ApplicationScore: None,
    SelectionAdjustment: None,
    RegionalQuota: None,
    Call: ("places", "reviewers_per_application"),
    StageScore: None,
    StageResult: ("advanced",),
    SelectionStage: ("kind", "weight", "position", "advanced_at", "custom_name"),
}


def invalidate_proposals(connection: Any, call_ids: Iterable[int] | None) -> None:
    """Make the stored proposals of these calls (None: of every call) stale by moving the calls' ranking version on."""
    stmt = update(Call).values(ranking_version=Call.ranking_version + 1, updated_at=Call.updated_at)
    if call_ids is not None:
        ids = sorted(set(call_ids))
        if not ids:
            return
        stmt = stmt.where(Call.id.in_(ids))
    connection.execute(stmt)


@event.listens_for(Session, "after_flush")
def _invalidate_after_flush(session: Session, _context: Any) -> None:
    """A flush that changes an input of a call's proposal makes the call's stored proposals stale."""
    call_ids = flushed_scopes(session, _PROPOSAL_INPUTS, counts_when_added_or_removed=_ever_ranked,
                              counts_when_changed=_ranked_before_or_after)
    if call_ids:
        invalidate_proposals(session.connection(), call_ids)


def _ever_ranked(obj: object) -> bool:
    """A new draft, or a deleted application the ranking never showed, changes no proposal."""
    return not isinstance(obj, Application) or obj.status in RANKED_STATUSES


def _ranked_before_or_after(obj: object) -> bool:
    """A change to an application the ranking does not show, and that does not move it into (or out of) the ranking,
    changes no proposal: a draft's region set by a section save must not write (and lock) its call's row, which
    made every applicant's personal-details save and every submit of the call queue on it (make bench-surge)."""
    if not isinstance(obj, Application):
        return True
    state: Any = sa_inspect(obj)
    if "status" in state.unloaded or state.attrs.status.history.has_changes():
        return True
    return obj.status in RANKED_STATUSES


@event.listens_for(Session, "do_orm_execute")
def _invalidate_on_bulk_statement(state: ORMExecuteState) -> None:
    """Bulk INSERT/UPDATE/DELETE of an input bypasses the flush: stale the calls it touches (every call if unknown)."""
    if state.execution_options.get("outside_ranking"):
        # The caller vouches that the rows it changes are in no ranking before or after (a draft becoming a
        # submitted application): writing the call's row would make every submit of a call queue on it.
        return
    named = state.execution_options.get("ranking_call_id")
    # Only the calls the statement touches (a submission's UPDATE must not lock every call's row).
    call_ids = {named} if named is not None else statement_scopes(state, _PROPOSAL_INPUTS)
    if call_ids is None or call_ids:
        invalidate_proposals(state.session.connection(), call_ids)


@dataclass(frozen=True, slots=True)
class ProposalSummary:
    """What the ranking page shows of the whole call's proposal, besides its own rows, and what labels each row.

    A row's place comes from the order itself (read from an index, a page at a time); its label from the few
    applications the proposal names (`labels`) and, for the waitlist, from how many scored applications ranked
    above it are not on the waitlist (`blockers`). So storing the proposal writes one row, whatever the call's size.
    """

    selected_count: int
    waitlist_count: int
    feasible: bool
    explanation: list[str]
    seats: list[QuotaSeats]
    #: Applications in the ranking (the page's total).
    ranked: int
    #: Ranked applications with a score under the sort (among those still in): the order's head, by score.
    scored: int = 0
    #: application id -> its label, for the applications the proposal names (selected, included, excluded).
    labels: dict[int, str] = field(default_factory=dict)
    selected: frozenset[int] = frozenset()
    #: Rank keys (score, id) of the scored ranked applications NOT on the waitlist (selected, adjusted, declined).
    blockers: list[tuple[Decimal, int]] = field(default_factory=list)
    #: A waitlisted application ranked above this key was passed over by a quota seat.
    passed_over_key: tuple[Decimal, int] | None = None
    #: How the proposal scored the call (its stages and their weights, the cut): a page orders and heads its columns
    #: by it without reading the stages (a stage's kind, weight, position, name and confirmation are inputs of the
    #: proposal). None in a proposal stored before it kept it: the stages are read.
    scoring: stages.Scoring | None = None
    _blocker_keys: list[tuple[Decimal, int]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Sorted once for label_of's bisection, not once per row.
        object.__setattr__(self, "_blocker_keys", [_key(*b) for b in self.blockers])

    def to_json(self) -> dict[str, Any]:
        return {"selected": self.selected_count, "waitlist": self.waitlist_count, "feasible": self.feasible,
                "explanation": [line.to_json() if isinstance(line, Explanation) else line for line in self.explanation],
                "ranked": self.ranked, "scored": self.scored,
                "seats": [[q.region, q.percent, q.minimum, q.proposed] for q in self.seats],
                "labels": [[i, label] for i, label in sorted(self.labels.items())],
                "selected_ids": sorted(self.selected),
                "blockers": [[str(score), i] for score, i in self.blockers],
                "passed_over_key": ([str(self.passed_over_key[0]), self.passed_over_key[1]]
                                    if self.passed_over_key else None),
                "scoring": self.scoring.to_json() if self.scoring is not None else None}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ProposalSummary:
        key = data.get("passed_over_key")
        return cls(selected_count=data["selected"], waitlist_count=data["waitlist"], feasible=data["feasible"],
                   explanation=[Explanation.from_json(line) for line in data["explanation"]],
                   ranked=data["ranked"], scored=data.get("scored", 0),
                   seats=[QuotaSeats(*q) for q in data["seats"]],
                   labels={int(i): label for i, label in data.get("labels", [])},
                   selected=frozenset(data.get("selected_ids", [])),
                   blockers=[(Decimal(s), int(i)) for s, i in data.get("blockers", [])],
                   passed_over_key=(Decimal(key[0]), int(key[1])) if key else None,
                   scoring=stages.Scoring.from_json(data["scoring"]) if data.get("scoring") else None)

    def selected_by_quota(self, application_id: int) -> bool:
        """Whether the proposal selects the application only to meet a quota (ranked below someone left out)."""
        return self.labels.get(application_id) == SELECTED_BY_QUOTA

    def label_of(self, application_id: int, score: Decimal | None, position: int, *, declined: bool,
                 cut_out: bool) -> tuple[str, int | None]:
        """The proposal's words for one ranked row at `position` (and its waitlist place, if any)."""
        if declined:
            return _("Declined the offer"), None
        if application_id in self.labels:
            return _(self.labels[application_id]), None  # stored as a message, shown in the reader's language
        if score is None:
            return (_("Not shortlisted") if cut_out else _("Not ranked")), None
        key = _key(score, application_id)
        number = position - bisect.bisect_left(self._blocker_keys, key)
        if self.passed_over_key is not None and key < _key(*self.passed_over_key):
            return _("Waitlist %(position)d %(passed_over)s", position=number, passed_over=_(PASSED_OVER)), number
        return _("Waitlist %(position)d", position=number), number


def _key(score: Score, application_id: int) -> tuple[Decimal, int]:
    """The rank order as a sortable key: best score first, then the lower id (as `_rank_key` and the SQL order)."""
    return (-Decimal(score), application_id)


def among_column(column: Any, ids: Iterable[int]) -> Any:
    """`column IN (ids)`, or false for no ids."""
    listed = sorted(ids)
    return column.in_(listed) if listed else sa_false()


@dataclass(frozen=True)
class _Order:
    """How the ranking orders a call: by its review score (a one-round call), or by the stages' combined score among
    those still in, either computed from the stages or read from the combined ranks stored with the proposal."""

    call_id: int
    sort: Sort
    scoring: stages.Scoring
    #: A call in stages whose combined ranks are stored (refresh_proposal stores them with the proposal): read them
    #: in place of the combined score, which no index can walk.
    stored: bool = False

    @property
    def plain(self) -> bool:
        return self.scoring.plain

    @functools.cached_property
    def _computed(self) -> tuple[Any, list[tuple[Any, Any]]]:
        # Built only when the order is computed: building the expression over the stages was a tenth of a view.
        return final_score(self.scoring, self.sort, Application.id)

    @property
    def score(self) -> Any:
        """The score the order ranks by, as a column of head()'s statements."""
        return CombinedRank.score if self.stored else self._computed[0]

    @property
    def joins(self) -> list[tuple[Any, Any]]:
        """The outer joins that give any application of the call (selected from Application) its `score`, besides
        ApplicationScore: NULL for those outside the order's head."""
        if self.stored:
            return [(CombinedRank, and_(CombinedRank.call_id == self.call_id, CombinedRank.sort == self.sort,
                                        CombinedRank.application_id == Application.id))]
        return self._computed[1]

    def head(self, columns: Sequence[Any], statuses: Sequence[ApplicationStatus]) -> Any:
        """SELECT `columns` of the call's applications in `statuses` that have a score, best first.

        One-round call: walks the scores' (call, score DESC, application) index, so a page or the top N reads only
        its rows. In stages, stored: walks the combined ranks' primary key. In stages, computed: drives from the last
        shortlist's advanced candidates (few), joined to their stages.
        """
        if self.stored:
            return (select(*columns).select_from(CombinedRank)
                    .join(Application, Application.id == CombinedRank.application_id)
                    .outerjoin(ApplicationScore, ApplicationScore.application_id == Application.id)
                    .where(CombinedRank.call_id == self.call_id, CombinedRank.sort == self.sort,
                           Application.status.in_(statuses))
                    .order_by(CombinedRank.position))
        if self.plain:
            stmt = (select(*columns).select_from(ApplicationScore)
                    .join(Application, Application.id == ApplicationScore.application_id)
                    .where(ApplicationScore.call_id == self.call_id))
            order: tuple[Any, ...] = (self.score.desc(), ApplicationScore.application_id)
        else:
            stmt = select(*columns).select_from(Application).outerjoin(
                ApplicationScore, ApplicationScore.application_id == Application.id)
            for target, on in self.joins:
                stmt = stmt.outerjoin(target, on)
            stmt = stmt.where(Application.call_id == self.call_id)
            if self.scoring.cut_stage_id is not None:
                stmt = stmt.where(Application.id.in_(select(StageResult.application_id).where(
                    StageResult.stage_id == self.scoring.cut_stage_id, StageResult.advanced.is_(True))))
            order = (self.score.desc(), Application.id)
        return stmt.where(self.score.is_not(None), Application.status.in_(statuses)).order_by(*order)

    def tail(self) -> Any:
        """(id, cut_out) of the call's ranked applications without a score, by id: the order's tail (computed; a
        stored order's page reads it with _stored_page_statements)."""
        return _tail(self.scoring.cut_stage_id, self.call_id,
                     self.head([Application.id], RANKED_STATUSES).order_by(None))


def _tail(cut_stage_id: Any, call_id: Any, scored: Any) -> Any:
    """(id, cut_out) of the call's ranked applications not in `scored`, by id; cut_out: not advanced at the shortlist
    `cut_stage_id` (None: no shortlist cut anybody)."""
    cut_out: Any = sa_false()
    if cut_stage_id is not None:
        cut_out = ~select(StageResult.application_id).where(
            StageResult.stage_id == cut_stage_id, StageResult.application_id == Application.id,
            StageResult.advanced.is_(True)).exists()
    return (select(Application.id, cut_out.label("cut_out"))
            .where(Application.call_id == call_id, Application.status.in_(RANKED_STATUSES),
                   Application.id.not_in(scored))
            .order_by(Application.id))


def _stored_page_statements(cut: bool) -> tuple[Select[*tuple[Any, ...]], Select[*tuple[Any, ...]]]:
    """The two parts of a stored order's page (a call in stages; stored_ranking_page_statement reads both at once):
    positions :first..:last of the call's combined ranks under :sort, by primary key; then :limit applications of the
    tail after :offset, by id, with whether the shortlist :cut_stage_id left each out (`cut`; else no shortlist
    did)."""
    call_id: Any = bindparam("call_id")
    sort: Any = bindparam("sort")
    head = (select(CombinedRank.application_id, CombinedRank.position, CombinedRank.score)
            .where(CombinedRank.call_id == call_id, CombinedRank.sort == sort,
                   CombinedRank.position.between(bindparam("first"), bindparam("last")))
            .order_by(CombinedRank.position))
    scored = select(CombinedRank.application_id).where(CombinedRank.call_id == call_id, CombinedRank.sort == sort)
    tail = (_tail(bindparam("cut_stage_id") if cut else None, call_id, scored)
            .limit(bindparam("limit", type_=Integer)).offset(bindparam("offset", type_=Integer)))
    return head, tail


def _order(call: Call, sort: Sort, scoring: stages.Scoring | None = None, *, computed: bool = False) -> _Order:
    """The call's order under `sort`; a call in stages reads its stored combined ranks unless `computed`."""
    scoring = scoring or stages.scoring_for_call(call.id)
    return _Order(call.id, sort, scoring, stored=not computed and not scoring.plain)


def _store_combined_ranks(order: _Order) -> None:
    """Store the head of a call in stages' computed order as its combined ranks under the order's sort (replacing
    those stored before): one INSERT ... SELECT that numbers the head best first, ties by id, as the page shows it."""
    position = func.row_number().over(order_by=(order.score.desc(), Application.id))
    head = order.head([literal(order.call_id), literal(order.sort), position, Application.id, order.score],
                      RANKED_STATUSES).order_by(None)
    db.session.execute(delete(CombinedRank).where(CombinedRank.call_id == order.call_id,
                                                  CombinedRank.sort == order.sort))
    db.session.execute(insert(CombinedRank).from_select(
        ["call_id", "sort", "position", "application_id", "score"], head))


def _bounded_candidates(call: Call, order: _Order, quotas: Mapping[str, int],
                        adjustments: Mapping[int, str]) -> list[Candidate]:
    """The competing applications that can be selected: the best `places` (plus one per adjustment) overall and in
    each quota region, and every adjusted one. Everyone else is on the waitlist or unranked whatever the proposal,
    so `propose_selection` over these gives the whole call's selection."""
    slack = len(adjustments)
    columns = (Application.id, Application.region, order.score, ApplicationScore.review_count)
    found: dict[int, Any] = {}
    statements = [order.head(columns, PROPOSAL_STATUSES).limit(call.places + slack)]
    for region, percent in quotas.items():
        statements.append(order.head(columns, PROPOSAL_STATUSES).where(Application.region == region)
                          .limit(minimum_seats(percent, call.places) + slack))
    if adjustments:
        adjusted = (select(*columns).select_from(Application)
                    .outerjoin(ApplicationScore, ApplicationScore.application_id == Application.id))
        for target, on in order.joins:
            adjusted = adjusted.outerjoin(target, on)
        statements.append(adjusted.where(Application.id.in_(sorted(adjustments)),
                                         Application.status.in_(PROPOSAL_STATUSES)))
    for stmt in statements:
        for row in db.session.execute(stmt):
            found[row[0]] = row
    enough = call.reviewers_per_application
    return [Candidate(r[0], r[1], r[2], (r[3] or 0) >= enough) for r in found.values()]


#: Statuses outside the ranking (an application scored and then withdrawn, say): few, so counting them is cheap.
UNRANKED_STATUSES = tuple(s for s in ApplicationStatus if s not in RANKED_STATUSES)


def _scored_count(call_id: int, order: _Order) -> int:
    """How many ranked applications have a score: the order's head. One-round call: the scores counted from their
    index, less the few scored applications that left the ranking (no join over the whole call)."""
    if not order.plain:
        head = order.head([Application.id], RANKED_STATUSES).order_by(None).subquery()
        return db.session.scalar(select(func.count()).select_from(head)) or 0
    scored = db.session.scalar(select(func.count()).select_from(ApplicationScore).where(
        ApplicationScore.call_id == call_id, order.score.is_not(None))) or 0
    left = db.session.scalar(
        select(func.count()).select_from(Application)
        .join(ApplicationScore, ApplicationScore.application_id == Application.id)
        .where(Application.call_id == call_id, Application.status.in_(UNRANKED_STATUSES),
               order.score.is_not(None))) or 0
    return scored - left


def refresh_proposal(call: Call, sort: Sort, version: int) -> ProposalSummary:
    """Compute the call's proposal under `sort` from the current data and store it as of `version`; a call in
    stages stores its combined ranks with it.

    Refreshes of the same proposal take turns on its row (a row lock, held to the end of the transaction), so the
    proposal and its combined ranks are always one refresh's, never a mix of two; one that waited for another that
    stored this same version reuses it rather than computing it again.
    """
    held = _hold_stored_proposal(call.id, sort)
    if held.version == version and held.summary:
        log.info("proposal of call %s (%s) at version %s stored meanwhile by another request", call.id, sort, version)
        return ProposalSummary.from_json(held.summary)
    summary = _compute_proposal(call, sort)
    db.session.execute(update(RankingProposal)
                       .where(RankingProposal.call_id == call.id, RankingProposal.sort == sort)
                       .values(version=version, summary=summary.to_json(), computed_at=utcnow()))
    log.info("proposal of call %s (%s) stored at version %s", call.id, sort, version)
    return summary


def _hold_stored_proposal(call_id: int, sort: Sort) -> Any:
    """Lock the call's stored proposal under `sort` until the transaction ends, inserting an empty one first (version
    -1, never current) if there is none, since a lock needs a row; its version and summary as stored now."""
    dialect = db.session.get_bind().dialect.name
    upsert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    db.session.execute(upsert(RankingProposal).values(call_id=call_id, sort=sort, version=-1, summary={},
                                                      computed_at=utcnow())
                       .on_conflict_do_nothing(index_elements=["call_id", "sort"]))
    return db.session.execute(select(RankingProposal.version, RankingProposal.summary)
                              .where(RankingProposal.call_id == call_id, RankingProposal.sort == sort)
                              .with_for_update()).one()


def _compute_proposal(call: Call, sort: Sort) -> ProposalSummary:
    """The call's proposal under `sort` from the current data, in a handful of bounded statements whatever the call's
    size: the top of the order overall and per quota region (index walks), the adjusted applications, the counts, the
    declined ones. A call in stages first stores its combined ranks, and those statements read them."""
    order = _order(call, sort, computed=True)
    if not order.plain:
        _store_combined_ranks(order)
        order = replace(order, stored=True)
    quotas = quotas_of(call)
    adjustments = {i: AdjustmentAction(a).value for i, a in db.session.execute(
        select(SelectionAdjustment.application_id, SelectionAdjustment.action)
        .where(SelectionAdjustment.call_id == call.id))}
    candidates = _bounded_candidates(call, order, quotas, adjustments)
    scored = _scored_count(call.id, order)
    declined = db.session.execute(
        order.head([Application.id, order.score], (ApplicationStatus.OFFER_DECLINED,))).all()
    scored_competing = scored - len(declined)
    ranked, competing = db.session.execute(
        select(func.count(), func.count(case((Application.status.in_(PROPOSAL_STATUSES), 1))))
        .where(Application.call_id == call.id, Application.status.in_(RANKED_STATUSES))).one()
    included_unscored = sum(1 for c in candidates if c.score is None and adjustments.get(c.application_id) == "include")
    words: Literal["unscored_stages"] | None = None if order.plain else "unscored_stages"
    proposal = propose_selection(candidates, call.places, quotas, adjustments,
                                 unranked_count=competing - scored_competing - included_unscored,
                                 unranked_words=words)
    by_id = {c.application_id: c for c in candidates}
    labels = {i: proposal.status_message(i) or "" for i in (*proposal.selected, *proposal.excluded)}
    named = set(proposal.selected) | set(proposal.excluded)
    blockers = sorted([*((Decimal(score), i) for i in named if (score := by_id[i].score) is not None),
                       *((Decimal(s), i) for i, s in declined)], key=lambda b: _key(*b))
    waitlisted = scored_competing - sum(1 for i in named if by_id[i].score is not None)
    lowest = max((by_id[i] for i in proposal.by_quota), key=_rank_key, default=None)
    return ProposalSummary(
        selected_count=len(proposal.selected), waitlist_count=waitlisted, feasible=proposal.feasible,
        explanation=proposal.explanation, seats=proposal.seats, ranked=ranked, scored=scored, labels=labels,
        selected=frozenset(proposal.selected), blockers=blockers,
        passed_over_key=(Decimal(lowest.score), lowest.application_id) if lowest and lowest.score is not None
        else None, scoring=order.scoring)


@dataclass(frozen=True, slots=True)
class StoredVersion:
    """The call's `ranking_version` and its stored proposal under one sort (version and summary; None if none),
    read in one statement so that they belong together."""

    ranking_version: int
    version: int | None
    summary: dict[str, Any] | None


#: What StoredVersion holds, as columns.
_STORED_VERSION = (Call.ranking_version, RankingProposal.version, RankingProposal.summary)


def _with_stored_proposal(stmt: Any, sort: Sort) -> Any:
    return stmt.outerjoin(RankingProposal, and_(RankingProposal.call_id == Call.id, RankingProposal.sort == sort))


@functools.cache
def _call_with_stored_proposal_statement(sort: Sort) -> Any:
    """call_with_stored_proposal's statement by the bound `call_id`, built once per process and sort (building it
    and its cache key was a fortieth of the ranking page)."""
    return (_with_stored_proposal(select(Call, *_STORED_VERSION), sort)
            .where(Call.id == bindparam("call_id")).options(lazyload(Call.criteria), lazyload(Call.quotas)))


def call_with_stored_proposal(call_id: int, sort: Sort) -> tuple[Call, StoredVersion] | None:
    """The call (without its rubric and quotas, loaded only if the proposal is recomputed) and its stored proposal
    under `sort`, in one statement: the ranking page's first read."""
    row = db.session.execute(_call_with_stored_proposal_statement(sort), {"call_id": call_id}).first()
    if row is None:
        return None
    call, ranking_version, version, summary = row
    return call, StoredVersion(ranking_version, version, summary)


def current_proposal(call: Call, sort: Sort, stored: StoredVersion | None = None) -> tuple[ProposalSummary, bool]:
    """The stored proposal of the call under `sort` (`stored` if the caller read it with the call), refreshed
    first if stale; True when it was refreshed."""
    if stored is None:
        found = db.session.execute(
            _with_stored_proposal(select(*_STORED_VERSION), sort).where(Call.id == call.id)).one()
        stored = StoredVersion(found.ranking_version, found.version, found.summary)
    if stored.summary is not None and stored.version == stored.ranking_version:
        return ProposalSummary.from_json(stored.summary), False
    return refresh_proposal(call, sort, stored.ranking_version), True


@functools.cache
def ranking_page_statement(later_stages: int = 0, sort: Sort = "normalised") -> Select[*tuple[Any, ...]]:
    """The ranking table's columns for the applications :ids (one page), with their scores, active assignments and
    adjustments, and (a call in stages) their scores under `sort` in `later_stages` weighted stages after the review
    round, the stages' ids bound as :stage_0, :stage_1, … and their scores read as later_0, later_1, …

    Built once per process and shape, with bound parameters: building it was a tenth of the page's time."""
    return _ranking_columns(later_stages, sort).where(Application.id.in_(bindparam("ids", expanding=True)))


def _ranking_columns(later_stages: int, sort: Sort) -> Select[*tuple[Any, ...]]:
    """ranking_page_statement's columns and joins, for any choice of applications."""
    assigned = (select(func.count(Assignment.id))
                .where(Assignment.application_id == Application.id, Assignment.status == AssignmentStatus.ACTIVE)
                .correlate(Application).scalar_subquery())
    adjuster = aliased(User)
    later = [aliased(StageScore, name=f"later_{k}") for k in range(later_stages)]
    stmt = (
        select(Application.id, Application.reference, Application.given_name,
               Application.family_name, Application.nationality, Application.region, Application.status,
               func.coalesce(ApplicationScore.review_count, 0).label("review_count"), ApplicationScore.raw_mean,
               ApplicationScore.normalised_mean, ApplicationScore.spread,
               func.coalesce(ApplicationScore.disagreement, False).label("disagreement"),
               assigned.label("assignments"),
               SelectionAdjustment.action.label("adjustment"), SelectionAdjustment.reason.label("adjustment_reason"),
               adjuster.full_name.label("adjusted_by"),
               *((stage.raw_score if sort == "raw" else stage.normalised_score).label(f"later_{k}")
                 for k, stage in enumerate(later)))
        .select_from(Application)
        .outerjoin(ApplicationScore, ApplicationScore.application_id == Application.id)
        .outerjoin(SelectionAdjustment, SelectionAdjustment.application_id == Application.id)
        .outerjoin(adjuster, adjuster.id == SelectionAdjustment.made_by_id)
    )
    for k, stage in enumerate(later):  # by the scores' primary key (stage, application)
        stmt = stmt.outerjoin(stage, and_(stage.stage_id == bindparam(f"stage_{k}"),
                                          stage.application_id == Application.id))
    return stmt


@functools.cache
def stored_ranking_page_statement(later_stages: int, sort: Sort, cut: bool) -> Select[*tuple[Any, ...]]:
    """One page of a stored order (a call in stages) with its table's columns, in one statement: the positions
    :first..:last of the combined ranks, then :limit of the tail after :offset (_stored_page_statements), each row
    with ranked_position (NULL in the tail), ranked_score and cut_out, in page order.

    The page's positions and its rows were three reads (head, tail, rows), each a round trip and a statement's
    fixed cost: one read instead of three took ~5 % off the page's time in-process (8.1 -> 7.7 ms)."""
    head, tail = _stored_page_statements(cut)
    tail_rows = tail.subquery("tail_rows")
    placed = union_all(
        head.order_by(None).add_columns(sa_false().label("cut_out"), literal(0).label("part"),
                                        CombinedRank.position.label("ordinal")),
        select(tail_rows.c.id, null().label("position"), null().label("score"), tail_rows.c.cut_out,
               literal(1).label("part"), tail_rows.c.id.label("ordinal")),
    ).subquery("placed")
    return (_ranking_columns(later_stages, sort)
            .add_columns(placed.c.position.label("ranked_position"), placed.c.score.label("ranked_score"),
                         placed.c.cut_out)
            .join(placed, placed.c.application_id == Application.id)
            .order_by(placed.c.part, placed.c.ordinal))


def _page_bounds(summary: ProposalSummary, first: int, last: int) -> tuple[int, int, int, int]:
    """Where positions first..last fall: the head's last position on the page, the page's first position in the
    unscored tail, and that tail part's LIMIT and OFFSET (both parts are always read, one may be empty, so a page
    costs the same statements wherever it falls)."""
    head_last = min(last, summary.scored)
    start = max(first, summary.scored + 1)
    return head_last, start, max(last - start + 1, 0), start - summary.scored - 1


def _page_order(order: _Order, summary: ProposalSummary, first: int,
                last: int) -> list[tuple[int, int, Decimal | None, bool]]:
    """(application id, position, score, cut out) of positions first..last of a computed order (a one-round call,
    or a call in stages whose order is not stored): the scored head by score, then the unscored tail by id; each
    part read a page at a time."""
    found: list[tuple[int, int, Decimal | None, bool]] = []
    head_last, start, limit, offset = _page_bounds(summary, first, last)
    scored = db.session.execute(order.head([Application.id, order.score], RANKED_STATUSES)
                                .limit(max(head_last - first + 1, 0)).offset(first - 1)).all()
    found.extend((i, first + n, s, False) for n, (i, s) in enumerate(scored))
    rows = db.session.execute(order.tail().limit(limit).offset(offset)).all()
    found.extend((i, start + n, None, bool(cut_out)) for n, (i, cut_out) in enumerate(rows))
    return found


def _stored_page(order: _Order, summary: ProposalSummary, first: int, last: int,
                 later: list[int]) -> tuple[list[tuple[int, int, Decimal | None, bool]], dict[int, Any]]:
    """_page_order and the page's rows of a stored order, in one statement (stored_ranking_page_statement)."""
    head_last, start, limit, offset = _page_bounds(summary, first, last)
    cut = order.scoring.cut_stage_id
    rows = db.session.execute(
        stored_ranking_page_statement(len(later), order.sort, cut is not None),
        {"call_id": order.call_id, "sort": order.sort, "first": first, "last": head_last, "limit": limit,
         "offset": offset, **({"cut_stage_id": cut} if cut is not None else {}),
         **{f"stage_{k}": stage_id for k, stage_id in enumerate(later)}}).all()
    found: list[tuple[int, int, Decimal | None, bool]] = []
    in_tail = 0
    for r in rows:
        if r.ranked_position is not None:
            found.append((r.id, r.ranked_position, r.ranked_score, False))
        else:
            found.append((r.id, start + in_tail, None, bool(r.cut_out)))
            in_tail += 1
    return found, {r.id: r for r in rows}


@dataclass(frozen=True, slots=True)
class RankingRow:
    """One line of the ranking table."""

    id: int
    rank: int | None
    reference: str | None
    name: str
    nationality: str | None
    region: str | None
    status: ApplicationStatus
    review_count: int
    missing_reviews: bool
    raw_mean: Decimal | None
    normalised_mean: Decimal | None
    spread: Decimal | None
    disagreement: bool
    assignments: int
    proposal: str
    selected: bool
    waitlist_position: int | None
    adjustment: str | None
    adjustment_reason: str | None
    adjusted_by: str | None
    #: Calls in stages: each weighted stage's score (Ranking.stages' order) and the combined one.
    stage_scores: tuple[Decimal | None, ...] = ()
    combined: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Ranking:
    call: Call
    sort: Sort
    proposal: ProposalSummary
    page: Page
    rows: list[RankingRow]
    #: The stored proposal was stale and has just been recomputed (the caller commits it).
    refreshed: bool = False
    #: The weighted stages of a call in stages (empty for a one-round call), in order.
    stages: tuple[stages.Weighted, ...] = ()


def ranking_rows(call: Call, sort: Sort, page: int, per_page: int, stored: StoredVersion | None = None) -> Ranking:
    """One page of the ranking with the whole call's proposal, in constant queries (`stored`: see current_proposal).

    The proposal is computed once per change of its inputs and stored as one row; a page reads its own rows in
    rank order from an index and labels them from the stored proposal, whatever the size of the call.
    """
    return ranking_slice(call, sort, (page - 1) * per_page, per_page, stored)


def ranking_slice(call: Call, sort: Sort, offset: int, limit: int, stored: StoredVersion | None = None) -> Ranking:
    """The `limit` rows of the ranking after the first `offset` (ranking_rows' page; the JSON API's cursor)."""
    summary, refreshed = current_proposal(call, sort, stored)
    order = _order(call, sort, summary.scoring)
    scoring = order.scoring
    in_stages = not scoring.plain
    later = [w.stage_id for w in scoring.stages if not w.first_review] if in_stages else []
    if order.stored:
        placed, details = _stored_page(order, summary, offset + 1, offset + limit, later)
    else:
        placed = _page_order(order, summary, offset + 1, offset + limit)
        details = {r.id: r for r in db.session.execute(
            ranking_page_statement(len(later), sort),
            {"ids": [p[0] for p in placed], **{f"stage_{k}": stage_id for k, stage_id in enumerate(later)}})}
    result = Page(items=placed, page=offset // limit + 1, per_page=limit, total=summary.ranked)
    enough = call.reviewers_per_application
    # Each weighted stage's column: the review round's score, or a later stage's (later_0, later_1, …).
    columns = [None if w.first_review else f"later_{later.index(w.stage_id)}" for w in scoring.stages]

    def stage_values(r: Any) -> tuple[Decimal | None, ...]:
        review = r.raw_mean if sort == "raw" else r.normalised_mean
        return tuple(review if column is None else getattr(r, column) for column in columns)

    rows = []
    for application_id, position, ranked_score, cut_out in placed:
        r = details[application_id]
        label, waitlist_position = summary.label_of(
            application_id, ranked_score, position, declined=r.status is ApplicationStatus.OFFER_DECLINED,
            cut_out=cut_out)
        rows.append(RankingRow(
            id=r.id, rank=position if ranked_score is not None else None, reference=r.reference,
            name=" ".join(p for p in (r.given_name, r.family_name) if p), nationality=r.nationality,
            region=r.region, status=r.status, review_count=r.review_count, missing_reviews=r.review_count < enough,
            raw_mean=r.raw_mean, normalised_mean=r.normalised_mean, spread=r.spread,
            disagreement=bool(r.disagreement), assignments=r.assignments or 0, proposal=label,
            selected=application_id in summary.selected, waitlist_position=waitlist_position,
            adjustment=AdjustmentAction(r.adjustment).value if r.adjustment else None,
            adjustment_reason=r.adjustment_reason, adjusted_by=r.adjusted_by,
            stage_scores=stage_values(r) if in_stages else (),
            combined=stages.quantize(ranked_score) if in_stages else None,
        ))
    return Ranking(call=call, sort=sort, proposal=summary, page=result, rows=rows, refreshed=refreshed,
                   stages=scoring.stages if in_stages else ())


def strictness_page(call_id: int, page: int, per_page: int) -> Page:
    """One page of the reviewers' strictness in the call (usually the only one: it counts only if there are more)."""
    return paginate(strictness_query(call_id), page, per_page, count_if_full=True)


def strictness_query(call_id: int) -> Select[*tuple[Any, ...]]:
    """Each reviewer's strictness in the call (count, mean, spread, normalised or not), by name."""
    return (select(ReviewerStrictness.reviewer_id, User.full_name, ReviewerStrictness.review_count,
                   ReviewerStrictness.mean, ReviewerStrictness.stddev, ReviewerStrictness.normalised)
            .join(User, User.id == ReviewerStrictness.reviewer_id)
            .where(ReviewerStrictness.call_id == call_id)
            .order_by(User.full_name, User.id))


# --- The chair's adjustments ----------------------------------------------------------------------------------

ADJUST_ACTIONS = ("include", "exclude", "clear")


def adjust(call: Call, application: Application, action: str, reason: str, by: User) -> SelectionAdjustment | None:
    """Include, exclude or clear one application in the proposal, with a reason the audit log keeps."""
    reason = (reason or "").strip()
    if action not in ADJUST_ACTIONS:
        raise DomainError(_("Choose include, exclude or clear."))
    if not reason:
        raise DomainError(_("Give a reason."))
    if len(reason) > MAX_REASON_LENGTH:
        raise DomainError(_("Keep the reason under %(num)d characters.", num=MAX_REASON_LENGTH))
    if application.call_id != call.id or application.status not in PROPOSAL_STATUSES:
        raise DomainError(_("Only applications in this call's ranking can be adjusted."))
    existing = db.session.scalar(select(SelectionAdjustment)
                                 .where(SelectionAdjustment.application_id == application.id))
    previous = existing.action.value if existing else None
    if action == "clear":
        if existing is None:
            raise DomainError(_("There is no adjustment to clear."))
        db.session.delete(existing)
        adjustment = None
    else:
        adjustment = existing or SelectionAdjustment(call_id=call.id, application_id=application.id)
        adjustment.action = AdjustmentAction(action)
        adjustment.reason = reason
        adjustment.made_by_id = by.id
        adjustment.made_at = utcnow()
        db.session.add(adjustment)
    db.session.flush()
    record("selection.adjusted", application, actor_id=by.id, adjustment=action, previous=previous, reason=reason,
           call_id=call.id, reference=application.reference)
    log.info("selection of application %s adjusted: %s (was %s)", application.id, action, previous)
    return adjustment
