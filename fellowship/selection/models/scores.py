"""Scores precomputed from submitted reviews, refreshed whenever a review of the call changes."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from fellowship.models import Base, UTCDateTime, utcnow


class ApplicationScore(Base):
    """One row per application with at least one submitted review: what the ranking page reads."""

    __tablename__ = "application_scores"

    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"),
                                                primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    review_count: Mapped[int] = mapped_column(default=0)
    raw_mean: Mapped[Decimal | None] = mapped_column(Numeric(6, 4))
    #: Mean of the reviewers' z-scores mapped back to the 1-5 scale (raw score where a reviewer
    #: has too few reviews for a z-score).
    normalised_mean: Mapped[Decimal | None] = mapped_column(Numeric(6, 4))
    #: Largest minus smallest weighted score among the reviews.
    spread: Mapped[Decimal | None] = mapped_column(Numeric(6, 4))
    disagreement: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


# The ranking's order, best first, ties by id: a page of the ranking and the proposal's top N walk these.
Index("ix_application_scores_call_normalised", ApplicationScore.call_id, ApplicationScore.normalised_mean.desc(),
      ApplicationScore.application_id)
Index("ix_application_scores_call_raw", ApplicationScore.call_id, ApplicationScore.raw_mean.desc(),
      ApplicationScore.application_id)


class ReviewerStrictness(Base):
    """How a reviewer scores in one call: mean and spread of their weighted scores."""

    __tablename__ = "reviewer_strictness"

    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), primary_key=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    review_count: Mapped[int] = mapped_column(default=0)
    mean: Mapped[Decimal | None] = mapped_column(Numeric(6, 4))
    stddev: Mapped[Decimal | None] = mapped_column(Numeric(6, 4))
    #: Whether this reviewer's scores are normalised (enough reviews, non-zero spread).
    normalised: Mapped[bool] = mapped_column(default=False)


class RankingProposal(Base):
    """The proposed selection of a call under one sort, stored so the ranking page need not recompute it.

    Valid while `version` equals the call's `ranking_version`, which every change to the proposal's inputs
    (scores, ranked statuses and regions, adjustments, places, quotas) increments (fellowship.selection.ranking).
    """

    __tablename__ = "ranking_proposals"

    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), primary_key=True)
    sort: Mapped[str] = mapped_column(String(20), primary_key=True)
    #: The call's ranking_version this proposal was computed from.
    version: Mapped[int] = mapped_column()
    #: Counts, feasibility, explanation and quota seats (ranking.ProposalSummary).
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CombinedRank(Base):
    """One place in a call's final ranking over stages under one sort, stored with the call's RankingProposal.

    A call in stages orders its ranking by a combined score (Σ weight × stage score among those who advanced at the
    last shortlist, stages.score_expression): an expression no index can walk, so each view sorted every shortlisted
    candidate again. The proposal's refresh stores the order's head here instead (the applications with a combined
    score, best first, ties by id, numbered from 1), and a page reads its positions by primary key. Only those with a
    combined score have a row (the shortlisted, not the whole call), so a refresh writes few rows; a one-round call
    stores none (its order is the scores' own index). Valid, like the proposal, while the proposal's `version` is the
    call's `ranking_version`: both are written together, under the proposal row's lock (ranking.refresh_proposal).
    """

    __tablename__ = "combined_ranks"

    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), primary_key=True)
    sort: Mapped[str] = mapped_column(String(20), primary_key=True)
    #: 1 for the best combined score.
    position: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    score: Mapped[Decimal] = mapped_column(Numeric(6, 4))
