"""Decisions (accept / waitlist / reject), sent in bulk through the outbox once confirmed; offers to
accepted applicants, accepted or declined by a deadline; a freed place promotes the next waitlisted."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import String, cast, func, literal, select

from fellowship.applications.models import Application, ApplicationStatus
from fellowship.audit.services import record
from fellowship.auth.models import User
from fellowship.calls.models import Call
from fellowship.errors import DomainError
from fellowship.extensions import db
from fellowship.models import utcnow
from fellowship.notifications.models import MessageStatus, OutboxMessage
from fellowship.notifications.services import public_link, queue_email
from fellowship.selection.models import Decision, DecisionOutcome, Offer, OfferStatus
from fellowship.timezones import format_in_zone

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


def record_decision(application: Application, outcome: DecisionOutcome, reason: str, by: User | None, *,
                    waitlist_position: int | None = None) -> Decision:
    """Record (or change, while unsent) the outcome for one application; nothing is emailed yet."""
    if application.status not in DECIDABLE:
        raise DomainError(f"No decision can be recorded for an application that is {application.status.label.lower()}.")
    decision = db.session.scalar(select(Decision).where(Decision.application_id == application.id))
    if decision is not None and decision.sent_at is not None:
        raise DomainError("This decision has already been sent and cannot be changed.")
    if decision is None:
        decision = Decision(call_id=application.call_id, application_id=application.id, outcome=outcome)
        db.session.add(decision)
    previous = decision.outcome if decision.id else None
    decision.outcome, decision.reason = outcome, reason.strip()
    decision.waitlist_position = waitlist_position if outcome is DecisionOutcome.WAITLIST else None
    decision.decided_by_id, decision.decided_at = (by.id if by else None), utcnow()
    db.session.flush()
    record("selection.decision_recorded", application, outcome=outcome.value, reason=decision.reason,
           previous=previous.value if previous else None, actor_id=by.id if by else None)
    return decision


def record_proposed_decisions(call: Call, selected: list[int], waitlist: list[int], rejected: list[int],
                              by: User) -> int:
    """Record accept / waitlist (in rank order) / reject for the proposal's lists in one go."""
    applications = {a.id: a for a in db.session.scalars(
        select(Application).where(Application.id.in_(selected + waitlist + rejected)))}
    count = 0
    for rank, application_id in enumerate(selected, start=1):
        record_decision(applications[application_id], DecisionOutcome.ACCEPT, f"Selected (rank {rank}).", by)
        count += 1
    for position, application_id in enumerate(waitlist, start=1):
        record_decision(applications[application_id], DecisionOutcome.WAITLIST, f"Waitlist position {position}.",
                        by, waitlist_position=position)
        count += 1
    for application_id in rejected:
        record_decision(applications[application_id], DecisionOutcome.REJECT, "Not selected this year.", by)
        count += 1
    return count


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

    Each email carries the decision's dedupe key, so a repeated or concurrent send queues nothing twice.
    Returns the batch key (for the progress page) and how many were queued.
    """
    batch_key = secrets.token_hex(8)
    now = utcnow()
    queued = 0
    while True:
        rows = db.session.execute(
            select(Decision, Application, User)
            .join(Application, Application.id == Decision.application_id)
            .join(User, User.id == Application.applicant_id)
            .where(Decision.call_id == call.id, Decision.sent_at.is_(None))
            .order_by(Decision.id).limit(batch_size)).all()
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
                context["offer_deadline"] = format_in_zone(offer.expires_at, call.time_zone)
            message = queue_email(applicant.email, TEMPLATE_FOR[decision.outcome],
                                  dedupe_key=decision_key(decision.id), **context)
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


def respond_to_offer(application: Application, accept: bool) -> Offer:
    """The applicant accepts or declines their offer before it expires; a decline frees the place."""
    offer = offer_for(application.id)
    now = utcnow()
    if offer is None:
        raise DomainError("There is no offer for this application.")
    if offer.status is not OfferStatus.PENDING:
        raise DomainError(f"This offer was already {offer.status.value}.")
    if now >= offer.expires_at:
        raise DomainError("The time to answer this offer has passed.")
    offer.status = OfferStatus.ACCEPTED if accept else OfferStatus.DECLINED
    offer.responded_at = now
    application.status = ApplicationStatus.OFFER_ACCEPTED if accept else ApplicationStatus.OFFER_DECLINED
    applicant = db.session.get_one(User, application.applicant_id)
    queue_email(applicant.email, "selection/offer_answered", accepted=accept, name=applicant.full_name,
                call_title=application.call.title, reference=application.reference)
    record("selection.offer_accepted" if accept else "selection.offer_declined", application, offer_id=offer.id)
    if accept:
        from fellowship.fellows.services import create_fellow  # imported here: fellows must not import selection early

        create_fellow(application)
    if not accept:
        promote_next(application.call, offer)
    return offer


def expire_offers(now: datetime | None = None) -> int:
    """Offers not answered by their deadline expire, and each frees its place for the waitlist."""
    now = now or utcnow()
    expired = db.session.scalars(
        select(Offer).where(Offer.status == OfferStatus.PENDING, Offer.expires_at <= now)
        .order_by(Offer.id).with_for_update(skip_locked=True)).all()
    for offer in expired:
        offer.status, offer.responded_at = OfferStatus.EXPIRED, now
        application = db.session.get_one(Application, offer.application_id)
        application.status = ApplicationStatus.OFFER_DECLINED
        record("selection.offer_expired", application, offer_id=offer.id)
        promote_next(application.call, offer)
    return len(expired)


def promote_next(call: Call, freed_offer: Offer) -> Application | None:
    """Offer the freed place to the next waitlisted candidate by rank, keeping the regional quotas."""
    from fellowship.selection.ranking import promotion_candidate

    holding = (ApplicationStatus.ACCEPTED, ApplicationStatus.OFFER_ACCEPTED)
    selected = list(db.session.scalars(select(Application.id).where(Application.call_id == call.id,
                                                                    Application.status.in_(holding))))
    waitlist = list(db.session.scalars(
        select(Application.id).join(Decision, Decision.application_id == Application.id)
        .where(Application.call_id == call.id, Application.status == ApplicationStatus.WAITLISTED)
        .order_by(Decision.waitlist_position, Application.id)))
    regions = dict(db.session.execute(select(Application.id, Application.region)
                                      .where(Application.id.in_(selected + waitlist + [freed_offer.application_id])))
                   .all())
    quotas = {q.region: q.min_share_percent for q in call.quotas}
    promotion = promotion_candidate(selected, waitlist, regions, call.places, quotas, freed_offer.application_id)
    candidate_id = promotion.application_id
    if candidate_id is None:
        log.info("call %s: a place was freed, nobody promoted: %s", call.id, promotion.explanation)
        return None
    application = db.session.get_one(Application, candidate_id)
    decision = db.session.scalars(select(Decision).where(Decision.application_id == candidate_id)).one()
    decision.outcome, decision.waitlist_position = DecisionOutcome.ACCEPT, None
    decision.reason = (f"Promoted from the waitlist when offer {freed_offer.id} was {freed_offer.status.value}: "
                       f"{promotion.explanation}")
    application.status = ApplicationStatus.ACCEPTED
    offer = _make_offer(call, application, utcnow(), promoted_from=freed_offer)
    applicant = db.session.get_one(User, application.applicant_id)
    queue_email(applicant.email, "selection/offer_promoted", dedupe_key=f"promotion:{offer.id}",
                name=applicant.full_name, call_title=call.title, reference=application.reference,
                offer_deadline=format_in_zone(offer.expires_at, call.time_zone),
                url=public_link(f"/applications/{application.id}"))
    record("selection.promoted", application, freed_offer_id=freed_offer.id, offer_id=offer.id)
    return application


def record_from_proposal(call: Call, by: User, waitlist_size: int) -> int:
    """Accept the proposal's selection, waitlist the next `waitlist_size` by rank, reject the rest."""
    if call.panel_locked_at is None:
        raise DomainError("Lock the panel's reviews before recording decisions.")
    from fellowship.selection.ranking import proposal_for_call

    proposal = proposal_for_call(call, "normalised")
    waitlist = list(proposal.waitlist[:waitlist_size])
    all_ids = list(db.session.scalars(select(Application.id).where(Application.call_id == call.id,
                                                                   Application.status.in_(DECIDABLE))))
    chosen = set(proposal.selected) | set(waitlist)
    rejected = [application_id for application_id in all_ids if application_id not in chosen]
    return record_proposed_decisions(call, list(proposal.selected), waitlist, rejected, by)
