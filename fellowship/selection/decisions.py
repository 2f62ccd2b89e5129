"""Decisions (accept / waitlist / reject), sent in bulk through the outbox once confirmed; offers to
accepted applicants, accepted or declined by a deadline; a freed place promotes the next waitlisted."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import String, cast, func, literal, select, update

from fellowship.applications.models import Application, ApplicationStatus
from fellowship.audit.services import record
from fellowship.auth.models import User
from fellowship.calls.models import Call
from fellowship.calls.services import lock_call
from fellowship.errors import DomainError
from fellowship.extensions import db
from fellowship.i18n.messages import StoredMessage
from fellowship.models import utcnow
from fellowship.notifications.models import MessageStatus, OutboxMessage
from fellowship.notifications.services import public_link, queue_email
from fellowship.selection.models import (
    ApplicationScore,
    Decision,
    DecisionOutcome,
    Offer,
    OfferStatus,
    SelectionStage,
    StageResult,
)
from fellowship.selection.reasons import REASONS
from fellowship.signals import offer_accepted
from fellowship.timezones import format_for_viewer

log = logging.getLogger(__name__)

#: Application statuses a decision may be recorded for.
DECIDABLE = {ApplicationStatus.UNDER_REVIEW, ApplicationStatus.ACCEPTED, ApplicationStatus.WAITLISTED,
             ApplicationStatus.REJECTED}
STATUS_FOR = {DecisionOutcome.ACCEPT: ApplicationStatus.ACCEPTED,
              DecisionOutcome.WAITLIST: ApplicationStatus.WAITLISTED,
              DecisionOutcome.REJECT: ApplicationStatus.REJECTED}
TEMPLATE_FOR = {outcome: f"selection/decision_{outcome.value}" for outcome in DecisionOutcome}


def decision_key(decision_id: int) -> str:
    """The outbox dedupe key of a decision's email: it can be queued once only."""
    return f"decision:{decision_id}"


def _lock_call(call_id: int) -> None:
    """Serialise the decisions, offers and promotions of one call (calls.services.lock_call).

    Recording, sending, answering, expiring and promoting read the call's decisions or places and then write:
    holding the call's row makes each see what the previous one committed (a decision cannot change while it
    is being sent; two freed places cannot both go to the same waitlisted candidate). The call's row is always
    taken first, then offers, decisions and applications, so these never wait for each other in a circle.
    """
    lock_call(call_id)


def _status_update(application_id: int, call_id: int, from_statuses: set[ApplicationStatus] | ApplicationStatus,
                   to: ApplicationStatus) -> bool:
    """Move one application's status on only if it still is one of `from_statuses`: the database decides races."""
    allowed = {from_statuses} if isinstance(from_statuses, ApplicationStatus) else from_statuses
    moved = db.session.execute(
        update(Application).where(Application.id == application_id, Application.status.in_(allowed))
        .values(status=to).returning(Application.id)
        .execution_options(synchronize_session=False, ranking_call_id=call_id)).scalar_one_or_none()
    return moved is not None


def record_decision(application: Application, outcome: DecisionOutcome, reason: str, by: User | None, *,
                    waitlist_position: int | None = None) -> Decision:
    """Record (or change, while unsent) the outcome for one application; nothing is emailed yet."""
    _lock_call(application.call_id)  # while the call's decisions are being sent, wait and see them sent
    db.session.refresh(application, ["status"])
    return _record_decision(application, outcome, reason, by, waitlist_position=waitlist_position)


def _record_decision(application: Application, outcome: DecisionOutcome, reason: str, by: User | None, *,
                     waitlist_position: int | None = None) -> Decision:
    """record_decision, with the call's row already locked by the caller."""
    if application.status not in DECIDABLE:
        raise DomainError(_("No decision can be recorded for an application whose status is “%(status)s”.",
                            status=application.status.label))
    decision = db.session.scalar(select(Decision).where(Decision.application_id == application.id))
    if decision is not None and decision.sent_at is not None:
        raise DomainError(_("This decision has already been sent and cannot be changed."))
    if decision is None:
        decision = Decision(call_id=application.call_id, application_id=application.id, outcome=outcome)
        db.session.add(decision)
    previous = decision.outcome if decision.id else None
    if isinstance(reason, StoredMessage):  # a reason the system gave: each reader sees it in their language
        decision.outcome, decision.reason, decision.reason_message = outcome, reason.english(), reason.to_json()
    else:  # typed by staff: kept as typed
        decision.outcome, decision.reason, decision.reason_message = outcome, reason.strip(), None
    decision.waitlist_position = waitlist_position if outcome is DecisionOutcome.WAITLIST else None
    decision.decided_by_id, decision.decided_at = (by.id if by else None), utcnow()
    db.session.flush()
    record("selection.decision_recorded", application, outcome=outcome.value, reason=decision.reason,
           previous=previous.value if previous else None, actor_id=by.id if by else None)
    return decision


def record_proposed_decisions(call: Call, selected: list[int], waitlist: list[int], rejected: list[int],
                              by: User, reasons: Mapping[int, str] | None = None) -> int:
    """Record accept / waitlist (in rank order) / reject for the proposal's lists in one go (`reasons` by id)."""
    _lock_call(call.id)
    reasons = reasons or {}
    applications = {a.id: a for a in db.session.scalars(
        select(Application).where(Application.id.in_(selected + waitlist + rejected))
        .execution_options(populate_existing=True))}
    count = 0
    for rank, application_id in enumerate(selected, start=1):
        _record_decision(applications[application_id], DecisionOutcome.ACCEPT,
                         reasons.get(application_id, REASONS("selected_rank", rank=rank)), by)
        count += 1
    for position, application_id in enumerate(waitlist, start=1):
        _record_decision(applications[application_id], DecisionOutcome.WAITLIST,
                         reasons.get(application_id, REASONS("waitlist_position", position=position)), by,
                         waitlist_position=position)
        count += 1
    for application_id in rejected:
        _record_decision(applications[application_id], DecisionOutcome.REJECT,
                         reasons.get(application_id, REASONS("not_selected")), by)
        count += 1
    return count


@dataclass(frozen=True)
class LackingReviews:
    """An application still in the running with fewer submitted reviews than its call asks for."""

    application_id: int
    reference: str | None
    name: str
    reviews: int


def lacking_reviews(call: Call, among: Iterable[int] | None = None) -> list[LackingReviews]:
    """Applications of the call that can still be decided (`among` these ids, if given) with fewer submitted reviews
    than the call asks for, by reference: what the lock warns about and what recording from the proposal leaves to
    staff. One query."""
    reviews = func.coalesce(ApplicationScore.review_count, 0)
    stmt = (select(Application.id, Application.reference, Application.given_name, Application.family_name, reviews)
            .outerjoin(ApplicationScore, ApplicationScore.application_id == Application.id)
            .where(Application.call_id == call.id, Application.status.in_(DECIDABLE),
                   reviews < call.reviewers_per_application)
            .order_by(Application.reference, Application.id))
    if among is not None:
        stmt = stmt.where(Application.id.in_(sorted(set(among))))
    return [LackingReviews(row[0], row[1], " ".join(p for p in (row[2], row[3]) if p) or _("(no name)"), int(row[4]))
            for row in db.session.execute(stmt)]


@dataclass(frozen=True)
class DecisionSummary:
    unsent: dict[str, int]
    sent: dict[str, int]


def decision_summary(call_id: int) -> DecisionSummary:
    rows = db.session.execute(select(Decision.outcome, Decision.sent_at.is_not(None), func.count())
                              .where(Decision.call_id == call_id).group_by(Decision.outcome,
                                                                           Decision.sent_at.is_not(None))).all()
    unsent = {o.value: 0 for o in DecisionOutcome}
    sent = dict(unsent)
    for outcome, is_sent, count in rows:
        (sent if is_sent else unsent)[outcome.value] = count
    return DecisionSummary(unsent=unsent, sent=sent)


def send_decisions(call: Call, by: User, batch_size: int = 500) -> tuple[str, int]:
    """Confirmed by staff: every unsent decision of the call becomes final and its email is queued.

    Two sends at once: the call's row lock makes the second wait and then find nothing left unsent (each
    email also carries the decision's dedupe key). An application withdrawn meanwhile is left out: its row is
    locked while its decision is sent, so a withdrawal either comes first (and is skipped here) or after.
    Returns the batch key (for the progress page) and how many were queued.
    """
    _lock_call(call.id)
    batch_key = secrets.token_hex(8)
    now = utcnow()
    queued = 0
    while True:
        rows = db.session.execute(
            select(Decision, Application, User)
            .join(Application, Application.id == Decision.application_id)
            .join(User, User.id == Application.applicant_id)
            .where(Decision.call_id == call.id, Decision.sent_at.is_(None), Application.status.in_(DECIDABLE))
            .order_by(Decision.id).limit(batch_size)
            .with_for_update(of=[Decision.__table__, Application.__table__], key_share=True)
            .execution_options(populate_existing=True)).all()
        if not rows:
            break
        for decision, application, applicant in rows:
            decision.sent_at, decision.batch_key = now, batch_key
            application.status = STATUS_FOR[decision.outcome]
            context = {"name": applicant.full_name, "call_title": call.title, "reference": application.reference,
                       "url": public_link(f"/applications/{application.id}"),
                       "waitlist_position": decision.waitlist_position}
            if decision.outcome is DecisionOutcome.ACCEPT:
                offer = _make_offer(call, application, now)
                context["offer_deadline"] = format_for_viewer(offer.expires_at, applicant, call.time_zone)
            message = queue_email(applicant.email, TEMPLATE_FOR[decision.outcome],
                                  dedupe_key=decision_key(decision.id), locale=None, **context)
            queued += message is not None
        db.session.flush()
    record("selection.decisions_sent", call, batch=batch_key, queued=queued)
    log.info("call %s: %s decision emails queued (batch %s)", call.id, queued, batch_key)
    return batch_key, queued


def _make_offer(call: Call, application: Application, now: datetime, *,
                promoted_from: Offer | None = None) -> Offer:
    offer = Offer(call_id=call.id, application_id=application.id, offered_at=now,
                  expires_at=now + timedelta(days=call.offer_response_days),
                  promoted_from_offer_id=promoted_from.id if promoted_from else None)
    db.session.add(offer)
    db.session.flush()
    return offer


def batch_progress(batch_key: str) -> dict[str, int]:
    """How many of a batch's emails are pending, sent or failed, counted in the outbox."""
    keys = select(literal("decision:") + cast(Decision.id, String)).where(Decision.batch_key == batch_key)
    rows = db.session.execute(select(OutboxMessage.status, func.count())
                              .where(OutboxMessage.dedupe_key.in_(keys)).group_by(OutboxMessage.status)).all()
    progress = {s.value: 0 for s in MessageStatus}
    progress.update({status.value: count for status, count in rows})
    progress["total"] = sum(count for _status, count in rows)
    return progress


def offer_for(application_id: int) -> Offer | None:
    return db.session.scalar(select(Offer).where(Offer.application_id == application_id))


def _answered_message(offer: Offer) -> str:
    """Why an answer was refused: the offer was answered (by another request) or its time ran out."""
    if offer.status is OfferStatus.ACCEPTED:
        return _("You already answered this offer: you accepted it. Nothing was changed.")
    if offer.status is OfferStatus.DECLINED:
        return _("You already answered this offer: you declined it. Nothing was changed.")
    return _("The time to answer this offer has passed.")


def respond_to_offer(application: Application, accept: bool, decline_reason: str = "") -> Offer:
    """The applicant accepts or declines their offer before it expires; a decline frees the place (and keeps the
    reason the applicant chose to give, if any).

    One answer per offer, decided by one conditional UPDATE (still pending, not yet expired): of answers sent
    at the same moment, or an answer and the expiry job, exactly one moves the offer on; the others raise a
    DomainError having changed nothing their caller keeps (it rolls back). Only the winner emails, audits,
    creates the fellow or promotes from the waitlist.
    """
    offer = offer_for(application.id)
    if offer is None:
        raise DomainError(_("There is no offer for this application."))
    _lock_call(application.call_id)
    now = utcnow()
    answered = db.session.execute(
        update(Offer).where(Offer.id == offer.id, Offer.status == OfferStatus.PENDING, Offer.expires_at > now)
        .values(status=OfferStatus.ACCEPTED if accept else OfferStatus.DECLINED, responded_at=now,
                decline_reason=None if accept else (decline_reason.strip() or None))
        .returning(Offer.id).execution_options(synchronize_session=False)).scalar_one_or_none()
    db.session.refresh(offer)
    if answered is None:
        raise DomainError(_answered_message(offer))
    new_status = ApplicationStatus.OFFER_ACCEPTED if accept else ApplicationStatus.OFFER_DECLINED
    if not _status_update(application.id, application.call_id, ApplicationStatus.ACCEPTED, new_status):
        db.session.refresh(application, ["status"])  # withdrawn meanwhile: the caller rolls the offer back
        raise DomainError(_("This application's status is “%(status)s”: the offer can no longer be answered.",
                            status=application.status.label))
    db.session.refresh(application, ["status"])
    applicant = db.session.get_one(User, application.applicant_id)
    queue_email(applicant.email, "selection/offer_answered", accepted=accept, name=applicant.full_name,
                call_title=application.call.title, reference=application.reference)
    record("selection.offer_accepted" if accept else "selection.offer_declined", application, offer_id=offer.id)
    log.info("offer %s %s", offer.id, offer.status.value)
    if accept:
        offer_accepted.send(application)  # the fellows area creates the fellow record, in this transaction
    else:
        promote_next(application.call, offer)
    return offer


def expire_offers(now: datetime | None = None) -> int:
    """Offers not answered by their deadline expire, and each frees its place for the waitlist.

    Each offer expires by a conditional UPDATE (still pending) under its call's lock: an answer sent at the
    same moment, or a second run of the job, either came first (and the offer is skipped) or finds it expired.
    """
    now = now or utcnow()
    due = db.session.execute(select(Offer.id, Offer.call_id)
                             .where(Offer.status == OfferStatus.PENDING, Offer.expires_at <= now)
                             .order_by(Offer.call_id, Offer.id)).all()
    expired = 0
    for offer_id, call_id in due:
        _lock_call(call_id)
        moved = db.session.execute(
            update(Offer).where(Offer.id == offer_id, Offer.status == OfferStatus.PENDING, Offer.expires_at <= now)
            .values(status=OfferStatus.EXPIRED, responded_at=now).returning(Offer.id)
            .execution_options(synchronize_session=False)).scalar_one_or_none()
        if moved is None:
            continue
        expired += 1
        offer = db.session.get_one(Offer, offer_id)
        db.session.refresh(offer)
        application = db.session.get_one(Application, offer.application_id)
        # A withdrawn application keeps its status; its place is freed all the same.
        _status_update(application.id, application.call_id, ApplicationStatus.ACCEPTED,
                       ApplicationStatus.OFFER_DECLINED)
        db.session.refresh(application, ["status"])
        record("selection.offer_expired", application, offer_id=offer.id)
        promote_next(application.call, offer)
    return expired


def promote_next(call: Call, freed_offer: Offer) -> Application | None:
    """Offer the freed place to the next waitlisted candidate by rank, keeping the regional quotas.

    The call's row is locked first, so two places freed at once (two declines, a decline and an expiry) are
    filled one after the other, each seeing the other's promotion; the candidate moves from the waitlist by a
    conditional UPDATE, so one withdrawn meanwhile is passed over for the next.
    """
    from fellowship.selection.ranking import promotion_candidate

    _lock_call(call.id)
    db.session.flush()
    holding = (ApplicationStatus.ACCEPTED, ApplicationStatus.OFFER_ACCEPTED)
    for _attempt in range(20):
        selected = list(db.session.scalars(select(Application.id).where(Application.call_id == call.id,
                                                                        Application.status.in_(holding))))
        waitlist = list(db.session.scalars(
            select(Application.id).join(Decision, Decision.application_id == Application.id)
            .where(Application.call_id == call.id, Application.status == ApplicationStatus.WAITLISTED)
            .order_by(Decision.waitlist_position, Application.id)))
        regions = dict(db.session.execute(
            select(Application.id, Application.region)
            .where(Application.id.in_(selected + waitlist + [freed_offer.application_id]))).all())
        quotas = {q.region: q.min_share_percent for q in call.quotas}
        promotion = promotion_candidate(selected, waitlist, regions, call.places, quotas, freed_offer.application_id)
        candidate_id = promotion.application_id
        if candidate_id is None:
            log.info("call %s: a place was freed, nobody promoted: %s", call.id, promotion.explanation)
            return None
        if _status_update(candidate_id, call.id, ApplicationStatus.WAITLISTED, ApplicationStatus.ACCEPTED):
            return _offer_promoted(call, candidate_id, freed_offer, promotion.explanation)
        log.info("call %s: waitlisted application %s left the waitlist meanwhile; choosing again", call.id,
                 candidate_id)
    log.warning("call %s: the waitlist kept changing; nobody promoted for offer %s", call.id, freed_offer.id)
    return None


def _offer_promoted(call: Call, application_id: int, freed_offer: Offer,
                    explanation: StoredMessage) -> Application:
    """The waitlisted application (already moved to accepted) gets its decision changed and a new offer."""
    application = db.session.get_one(Application, application_id)
    db.session.refresh(application, ["status"])
    decision = db.session.scalars(select(Decision).where(Decision.application_id == application_id)).one()
    decision.outcome, decision.waitlist_position = DecisionOutcome.ACCEPT, None
    # A message each reader sees in their language (the English kept for the record), whoever or whatever task
    # recorded it.
    reason = REASONS("promoted", offer=freed_offer.id, status=freed_offer.status.value,
                     explanation=explanation.to_json())
    decision.reason, decision.reason_message = reason.english(), reason.to_json()
    offer = _make_offer(call, application, utcnow(), promoted_from=freed_offer)
    applicant = db.session.get_one(User, application.applicant_id)
    queue_email(applicant.email, "selection/offer_promoted", dedupe_key=f"promotion:{offer.id}",
                name=applicant.full_name, call_title=call.title, reference=application.reference,
                offer_deadline=format_for_viewer(offer.expires_at, applicant, call.time_zone),
                url=public_link(f"/applications/{application.id}"))
    record("selection.promoted", application, freed_offer_id=freed_offer.id, offer_id=offer.id)
    return application


def undecided(call: Call, limit: int = 500) -> list[LackingReviews]:
    """Applications of the call that can be decided but have no decision recorded, with their review counts."""
    reviews = func.coalesce(ApplicationScore.review_count, 0)
    rows = db.session.execute(
        select(Application.id, Application.reference, Application.given_name, Application.family_name, reviews)
        .outerjoin(ApplicationScore, ApplicationScore.application_id == Application.id)
        .outerjoin(Decision, Decision.application_id == Application.id)
        .where(Application.call_id == call.id, Application.status.in_(DECIDABLE), Decision.id.is_(None))
        .order_by(Application.reference, Application.id).limit(limit))
    return [LackingReviews(row[0], row[1], " ".join(p for p in (row[2], row[3]) if p) or _("(no name)"), int(row[4]))
            for row in rows]


@dataclass(frozen=True)
class ProposalPlan:
    """What "record decisions from the proposal" would record, each with its reason, and whom it leaves to staff."""

    selected: list[int]
    waitlist: list[int]
    rejected: list[int]
    #: Not decided: they need reviews (never rejected for a missing review); staff decide each one.
    needs_reviews: list[LackingReviews]
    #: Application id -> the decision's reason: what decided it (the rank, a quota seat, the chair), as a message.
    reasons: dict[int, StoredMessage]


@dataclass(frozen=True)
class ProposalDecisions:
    """What "record decisions from the proposal" did: how many were recorded, and whom it left to staff."""

    recorded: int
    needs_reviews: list[LackingReviews]


def _not_shortlisted_at(application_ids: list[int]) -> dict[int, str | None]:
    """Application id -> the stored name of the confirmed shortlist it did not advance at (one query)."""
    if not application_ids:
        return {}
    rows = db.session.execute(
        select(StageResult.application_id, SelectionStage.name)
        .join(SelectionStage, SelectionStage.id == StageResult.stage_id)
        .where(StageResult.application_id.in_(sorted(application_ids)), StageResult.advanced.is_(False))
        .order_by(SelectionStage.position)).all()
    return {row[0]: row[1] for row in rows}


def plan_from_proposal(call: Call, waitlist_size: int) -> ProposalPlan:
    """Accept the proposal's selection, waitlist the next `waitlist_size` by rank, reject the rest that were fully
    reviewed; an application with missing reviews that the proposal leaves out is not decided (staff choose)."""
    from fellowship.selection.ranking import _rank_key, load_candidates, propose_selection, quotas_of

    candidates, adjustments = load_candidates(call, "normalised")
    proposal = propose_selection(candidates, call.places, quotas_of(call), adjustments)
    waitlist = list(proposal.waitlist[:max(waitlist_size, 0)])
    all_ids = list(db.session.scalars(select(Application.id).where(Application.call_id == call.id,
                                                                   Application.status.in_(DECIDABLE))
                                      .order_by(Application.id)))
    chosen = set(proposal.selected) | set(waitlist)
    needs_reviews = [row for row in lacking_reviews(call) if row.application_id not in chosen]
    left_to_staff = {row.application_id for row in needs_reviews}
    rejected = [i for i in all_ids if i not in chosen and i not in left_to_staff]

    rank = {c.application_id: n for n, c in enumerate(sorted((c for c in candidates if c.score is not None),
                                                             key=_rank_key), start=1)}
    region = {c.application_id: c.region for c in candidates}
    quota_regions = sorted({name for i in proposal.by_quota if (name := region[i])})
    reasons: dict[int, StoredMessage] = {}
    for application_id in proposal.selected:
        if application_id in proposal.included:
            reasons[application_id] = REASONS("selected_included")
        elif application_id in proposal.by_quota:
            reasons[application_id] = REASONS("selected_quota", rank=rank[application_id],
                                              region=region[application_id])
        else:
            reasons[application_id] = REASONS("selected_rank", rank=rank[application_id])
    for position, application_id in enumerate(waitlist, start=1):
        key = "waitlist_rank_passed_over" if application_id in proposal.passed_over else "waitlist_rank"
        extra = {"regions": quota_regions} if application_id in proposal.passed_over else {}
        reasons[application_id] = REASONS(key, position=position, rank=rank[application_id], **extra)
    cut_at = _not_shortlisted_at(rejected)
    for application_id in rejected:
        if application_id in proposal.excluded:
            reasons[application_id] = REASONS("not_selected_excluded")
        elif application_id in cut_at:
            reasons[application_id] = REASONS("not_shortlisted_at", stage=cut_at[application_id])
        elif application_id in rank:
            reasons[application_id] = REASONS("not_selected_rank", rank=rank[application_id])
    return ProposalPlan(selected=list(proposal.selected), waitlist=waitlist, rejected=rejected,
                        needs_reviews=needs_reviews, reasons=reasons)


def record_from_proposal(call: Call, by: User, waitlist_size: int) -> ProposalDecisions:
    """Record the decisions of `plan_from_proposal`, planned under the call's lock; nothing is emailed yet."""
    _lock_call(call.id)
    db.session.refresh(call, ["panel_locked_at"])
    if call.panel_locked_at is None:
        raise DomainError(_("Lock the panel's reviews before recording decisions."))
    plan = plan_from_proposal(call, waitlist_size)
    recorded = record_proposed_decisions(call, plan.selected, plan.waitlist, plan.rejected, by, plan.reasons)
    return ProposalDecisions(recorded=recorded, needs_reviews=plan.needs_reviews)
