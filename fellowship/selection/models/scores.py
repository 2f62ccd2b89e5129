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
    __table_args__ = (
        Index("ix_application_scores_call_normalised", "call_id", "normalised_mean"),
        Index("ix_application_scores_call_raw", "call_id", "raw_mean"),
    )

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


class RankingPosition(Base):
    """One ranked application's place in a stored proposal: its rank order and how the proposal treats it.

    No foreign keys: the rows are a copy the ranking rebuilds (50,000 at a time) whenever its inputs change, and
    checking two keys per row doubled that rebuild. The page reads them joined to the call's applications, and a
    change to the applications or the call makes them stale anyway (ranking_version).
    """

    __tablename__ = "ranking_positions"

    call_id: Mapped[int] = mapped_column(primary_key=True)
    sort: Mapped[str] = mapped_column(String(20), primary_key=True)
    #: 1-based position in the ranking page's order (best score first, unscored last, then by id).
    position: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column()
    label: Mapped[str] = mapped_column(String(60))
    selected: Mapped[bool] = mapped_column(default=False)
    waitlist_position: Mapped[int | None] = mapped_column()
