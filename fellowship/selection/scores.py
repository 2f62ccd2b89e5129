"""Weighted scores of reviews, and the per-application and per-reviewer figures the ranking reads.

`recompute_call` is set-based: a few INSERT ... SELECT statements with AVG/COUNT/MIN/MAX aggregates, the
same SQL on PostgreSQL and SQLite; no Python loop over reviews.

Choices (the worked example in tests/selection/test_scores.py follows them):

* Standard deviations are POPULATION standard deviations, sqrt(AVG(x*x) - AVG(x)^2): a reviewer's submitted
  reviews are all of their scores in the call, not a sample of them, and their z-scores then have mean 0 and
  standard deviation 1 exactly. (SQLite has no STDDEV; this form runs on both databases.)
* A reviewer is normalised when they have at least `call.min_reviews_for_normalisation` counted reviews and a
  standard deviation above 0 at the stored precision (4 decimals). Their review's normalised value is
  `call_mean + z * call_sd`, with z = (score - reviewer_mean) / reviewer_sd, where call_mean and call_sd are the
  mean and population standard deviation of ALL counted weighted scores of the call (so normalised values stay
  on the call's own 1-5 scale and spread), clamped to [1, 5]. Other reviewers count with their raw score.
* Counted reviews: submitted, on an active assignment, and by a reviewer with no conflict of interest on the
  application (a recusal or a withdrawn assignment takes the review out of the figures).
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, delete, exists, func, insert, select

from fellowship.calls.models import Call
from fellowship.errors import DomainError
from fellowship.extensions import db
from fellowship.models import utcnow
from fellowship.selection.models import (
    ApplicationScore,
    Assignment,
    AssignmentStatus,
    Conflict,
    Review,
    ReviewerStrictness,
    ReviewStatus,
)

log = logging.getLogger(__name__)

FOUR_PLACES = Decimal("0.0001")
#: A variance at or below this is a standard deviation that rounds to 0.0000: no spread to normalise by.
#: (Also absorbs the rounding of AVG(x*x) - AVG(x)^2 when every score is the same.)
MIN_VARIANCE = 0.00005 ** 2


def weighted_score(scores: Mapping[int, int], weights: Mapping[int, Decimal]) -> Decimal:
    """Σ(weight × score) / Σ(weight) over the criteria in `weights`, rounded half up to 4 decimals."""
    missing = [criterion_id for criterion_id in weights if criterion_id not in scores]
    if missing or not weights:
        raise DomainError(_("Every criterion of the rubric needs a score."))
    total_weight = sum((Decimal(w) for w in weights.values()), Decimal(0))
    if total_weight <= 0:
        raise DomainError(_("The rubric's weights must add up to more than zero."))
    total = sum((Decimal(weights[c]) * scores[c] for c in weights), Decimal(0))
    return (total / total_weight).quantize(FOUR_PLACES, rounding=ROUND_HALF_UP)


def _mean_sd(values: list[float]) -> tuple[float, float]:
    mean = sum(values) / len(values)
    variance = sum(v * v for v in values) / len(values) - mean * mean
    return mean, math.sqrt(variance) if variance > MIN_VARIANCE else 0.0


def _q(value: float) -> Decimal:
    return Decimal(value).quantize(FOUR_PLACES, rounding=ROUND_HALF_UP)


def normalise_per_scorer(rows: Iterable[tuple[int, int, Decimal]],
                         min_count: int) -> list[tuple[int, Decimal, Decimal, int]]:
    """(application, scorer, weighted score) -> (application, raw mean, normalised mean, count), by application:
    this module's per-reviewer z-score rules in Python, for a later stage's tens to hundreds of scores (a later
    review round, an interview)."""
    rows = list(rows)
    if not rows:
        return []
    stage_mean, stage_sd = _mean_sd([float(s) for _a, _i, s in rows])
    by_scorer: dict[int, list[float]] = defaultdict(list)
    for _a, scorer, s in rows:
        by_scorer[scorer].append(float(s))
    stats = {i: (len(v), *_mean_sd(v)) for i, v in by_scorer.items()}
    per_application: dict[int, list[tuple[float, float]]] = defaultdict(list)
    for application, scorer, s in rows:
        n, mean, sd = stats[scorer]
        value = float(s)
        if n >= min_count and sd > 0:
            value = min(5.0, max(1.0, stage_mean + (value - mean) / sd * stage_sd))
        per_application[application].append((float(s), value))
    return [(a, _q(sum(r for r, _v in pairs) / len(pairs)), _q(sum(v for _r, v in pairs) / len(pairs)), len(pairs))
            for a, pairs in sorted(per_application.items())]


def _sqrt_available_on_sqlite() -> None:
    """SQLite builds without the math functions lack sqrt(); give this connection one (a no-op elsewhere)."""
    connection = db.session.connection()
    if connection.dialect.name == "sqlite":
        raw: Any = connection.connection.driver_connection
        raw.create_function("sqrt", 1, lambda x: math.sqrt(x) if x is not None and x >= 0 else None,
                            deterministic=True)


def _stddev(mean: ColumnElement[Any], mean_of_squares: ColumnElement[Any]) -> ColumnElement[Any]:
    """Population standard deviation from AVG(x) and AVG(x*x); 0 where the variance is (within rounding) none."""
    variance = mean_of_squares - mean * mean
    return sa.case((variance > MIN_VARIANCE, func.sqrt(variance)), else_=0)


def _counted_reviews(call_id: int) -> sa.CTE:
    """(application_id, reviewer_id, s) for every review that counts in the call's figures."""
    conflicted = exists().where(Conflict.application_id == Review.application_id,
                                Conflict.reviewer_id == Review.reviewer_id)
    return (
        select(Review.application_id, Review.reviewer_id, Review.weighted_score.label("s"))
        .join(Assignment, Assignment.id == Review.assignment_id)
        .where(Review.call_id == call_id, Review.status == ReviewStatus.SUBMITTED,
               Review.weighted_score.is_not(None), Assignment.status == AssignmentStatus.ACTIVE, ~conflicted)
        .cte("counted")
    )


def recompute_call(call_id: int) -> None:
    """Refresh ApplicationScore and ReviewerStrictness of the whole call from its counted submitted reviews."""
    # One recompute per call at a time (PostgreSQL row lock; SQLite serialises writers anyway).
    call_row = db.session.execute(
        select(Call.min_reviews_for_normalisation, Call.disagreement_threshold)
        .where(Call.id == call_id).with_for_update()).one()
    min_reviews, threshold = call_row
    db.session.flush()
    _sqrt_available_on_sqlite()
    now = utcnow()

    counted = _counted_reviews(call_id)
    s = counted.c.s
    reviewer_stats = (
        select(counted.c.reviewer_id, func.count().label("n"), func.avg(s).label("mean"),
               _stddev(func.avg(s), func.avg(s * s)).label("sd"))
        .group_by(counted.c.reviewer_id)
        .cte("reviewer_stats")
    )
    call_stats = select(func.avg(s).label("mean"), _stddev(func.avg(s), func.avg(s * s)).label("sd")).cte(
        "call_stats")
    normalised_flag = sa.and_(reviewer_stats.c.n >= min_reviews, reviewer_stats.c.sd > 0)

    db.session.execute(delete(ReviewerStrictness).where(ReviewerStrictness.call_id == call_id))
    db.session.execute(insert(ReviewerStrictness).from_select(
        ["call_id", "reviewer_id", "review_count", "mean", "stddev", "normalised"],
        select(sa.literal(call_id), reviewer_stats.c.reviewer_id, reviewer_stats.c.n,
               func.round(reviewer_stats.c.mean, 4), func.round(reviewer_stats.c.sd, 4),
               sa.case((normalised_flag, sa.true()), else_=sa.false())),
    ))

    mapped = call_stats.c.mean + (s - reviewer_stats.c.mean) / reviewer_stats.c.sd * call_stats.c.sd
    per_review = (
        select(counted.c.application_id, s,
               sa.case((normalised_flag, mapped), else_=s).label("v"))
        .join(reviewer_stats, reviewer_stats.c.reviewer_id == counted.c.reviewer_id)
        .join(call_stats, sa.true())
        .subquery("per_review")
    )
    clamped = sa.case((per_review.c.v < 1, 1), (per_review.c.v > 5, 5), else_=per_review.c.v)
    spread = func.round(func.max(per_review.c.s) - func.min(per_review.c.s), 4)
    disagreement = sa.and_(func.count() >= 2, spread > sa.literal(threshold, sa.Numeric(4, 2)))
    only_this_call = {"ranking_call_id": call_id}  # the stored proposals of this call become stale
    db.session.execute(delete(ApplicationScore).where(ApplicationScore.call_id == call_id)
                       .execution_options(**only_this_call))
    db.session.execute(insert(ApplicationScore).from_select(
        ["application_id", "call_id", "review_count", "raw_mean", "normalised_mean", "spread", "disagreement",
         "updated_at"],
        select(per_review.c.application_id, sa.literal(call_id), func.count(), func.round(func.avg(per_review.c.s), 4),
               func.round(func.avg(clamped), 4), spread, sa.case((disagreement, sa.true()), else_=sa.false()),
               sa.literal(now, ApplicationScore.__table__.c.updated_at.type))
        .group_by(per_review.c.application_id),
    ).execution_options(**only_this_call))
    for obj in list(db.session.identity_map.values()):  # rows replaced behind the ORM's back
        if isinstance(obj, ApplicationScore | ReviewerStrictness):
            db.session.expire(obj)
    log.info("scores of call %s recomputed", call_id)
