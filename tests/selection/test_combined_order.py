"""The final ranking over stages reads its order from the combined ranks stored with the proposal (issue 15).

A call in stages is ordered by a combined score (Σ weight × stage score among those still in) that no index can
walk; the proposal's refresh stores the order's head (combined_ranks) and a page reads its positions from there.
These tests change each input of that order the way the app does and check that the page, the stored ranks and the
order computed from the stages agree; and that two refreshes at once leave one proposal with its own ranks.

The worked example is `tests.selection.test_stages` on `tests.selection.test_ranking_page.Ranked`: review
(normalised: 2 4.40, 4 4.10, 3 3.50, 5 3.00), a shortlist of 4 by quota (2, 3, 4, 5 advance; 1 and 6 do not),
an interview.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from fellowship.calls.models import Call
from fellowship.extensions import db
from fellowship.selection import ranking, stages
from fellowship.selection.models import CombinedRank, RankingProposal, SelectionStage, StageKind
from tests.querycount import counted_statements
from tests.races import in_own_context, while_held
from tests.selection.test_ranking_page import Ranked, make_ranked, ranking_page, row
from tests.selection.test_stages import shortlist_stage


@pytest.fixture
def ranked(app_ctx) -> Ranked:
    return make_ranked()


def interviewed(ranked: Ranked, staff, scores: dict[int, str]) -> SelectionStage:
    """review 40% -> shortlist of 4, confirmed -> interview 60% with these scores; returns the interview."""
    cut = shortlist_stage(ranked, staff, interview_weight=60)
    stages.confirm_advancing(ranked.call, cut, staff)
    interview = next(s for s in stages.stages_of(ranked.call.id) if s.kind is StageKind.INTERVIEW)
    score(ranked, interview, scores)
    return interview


def score(ranked: Ranked, interview: SelectionStage, scores: dict[int, str]) -> None:
    stages.store_stage_scores(interview, [(ranked.apps[n].id, Decimal(v), Decimal(v), 2) for n, v in scores.items()])
    db.session.commit()


def numbers(ranked: Ranked, ids: list[int]) -> list[int]:
    back = {a.id: n for n, a in ranked.apps.items()}
    return [back[i] for i in ids]


def page_order(html: str, ranked: Ranked) -> list[int]:
    return numbers(ranked, [int(i) for i in re.findall(r'<tr id="row-(\d+)"', html)])


def stored(ranked: Ranked, sort: str = "normalised") -> list[tuple[int, str]]:
    """The stored combined ranks, best first: (application number, score)."""
    rows = db.session.execute(select(CombinedRank.application_id, CombinedRank.score).where(
        CombinedRank.call_id == ranked.call.id, CombinedRank.sort == sort).order_by(CombinedRank.position)).all()
    return [(n, f"{s:.2f}") for n, s in zip(numbers(ranked, [r[0] for r in rows]), (r[1] for r in rows), strict=True)]


def computed(ranked: Ranked, sort: ranking.Sort = "normalised") -> list[int]:
    """The order computed from the stages (the combined score's expression), as the page ordered before it was
    stored: the reference the stored ranks must match."""
    order = ranking._order(db.session.get_one(Call, ranked.call.id), sort, computed=True)
    return numbers(ranked, list(db.session.scalars(order.head([ranking.Application.id], ranking.RANKED_STATUSES))))


def test_the_stored_order_follows_a_stage_score_a_weight_and_a_name(staff_client, ranked, staff):
    interview = interviewed(ranked, staff, {2: "3.00", 4: "5.00", 3: "4.00", 5: "2.00"})

    # 40% review + 60% interview: 4 -> 4.64, 3 -> 3.80, 2 -> 3.56, 5 -> 2.40; then the not shortlisted, by id.
    html = ranking_page(staff_client, ranked.call)
    assert stored(ranked) == [(4, "4.64"), (3, "3.80"), (2, "3.56"), (5, "2.40")]
    assert page_order(html, ranked) == [4, 3, 2, 5, 1, 6] and computed(ranked) == [4, 3, 2, 5]
    assert "Not shortlisted" in row(html, ranked.apps[1])

    # An interview score changes (5: 2.00 -> 5.00, so 1.20 + 3.00 = 4.20): the next view stores the new order.
    score(ranked, interview, {2: "3.00", 4: "5.00", 3: "4.00", 5: "5.00"})
    html = ranking_page(staff_client, ranked.call)
    assert stored(ranked) == [(4, "4.64"), (5, "4.20"), (3, "3.80"), (2, "3.56")]
    assert page_order(html, ranked) == [4, 5, 3, 2, 1, 6] and computed(ranked) == [4, 5, 3, 2]
    assert "4.20" in row(html, ranked.apps[5])

    # The weights change to 90% review, 10% interview: 2 -> 4.26, 4 -> 4.19, 3 -> 3.55, 5 -> 3.20.
    review = stages.first_review_stage(stages.stages_of(ranked.call.id))
    assert review is not None
    stages.set_weights(ranked.call, {review.id: 90, interview.id: 10}, staff)
    db.session.commit()
    html = ranking_page(staff_client, ranked.call)
    assert stored(ranked) == [(2, "4.26"), (4, "4.19"), (3, "3.55"), (5, "3.20")]
    assert page_order(html, ranked) == [2, 4, 3, 5, 1, 6] and computed(ranked) == [2, 4, 3, 5]
    assert "Review 90%" in html and "Interview 10%" in html

    # The raw sort keeps its own stored order (raw review: 2 4.00, 3 3.80, 4 3.20, 5 3.00).
    raw = ranking_page(staff_client, ranked.call, sort="raw")
    assert stored(ranked, "raw") == [(2, "3.90"), (3, "3.82"), (4, "3.38"), (5, "3.20")]
    assert page_order(raw, ranked)[:4] == computed(ranked, "raw") == [2, 3, 4, 5]

    # Renaming a stage changes no score, but the page heads its column with the name it stored with the order.
    stages.update_stage(ranked.call, interview, stages.StageSettings(StageKind.INTERVIEW, "Panel interview",
                                                                     weight=10), staff)
    db.session.commit()
    html = ranking_page(staff_client, ranked.call)
    assert "Panel interview (10%)" in html and "Panel interview 10%" in html
    assert page_order(html, ranked) == [2, 4, 3, 5, 1, 6]


def test_a_page_of_the_stored_order_reads_neither_the_stages_nor_their_scores_expression(staff_client, ranked,
                                                                                          staff):
    interviewed(ranked, staff, {2: "3.00", 4: "5.00", 3: "4.00", 5: "2.00"})
    first = ranking_page(staff_client, ranked.call)  # stores the proposal and its order
    with counted_statements() as statements:
        again = ranking_page(staff_client, ranked.call)
    assert page_order(again, ranked) == page_order(first, ranked) == [4, 3, 2, 5, 1, 6]
    joined = " ".join(statements)
    assert "combined_ranks" in joined
    assert "selection_stages" not in joined and "round(" not in joined  # no stages read, no combined score computed
    # The user, the call with its stored proposal, and the page (its positions, tail and rows in one statement).
    assert len(statements) == 3, statements


def test_two_refreshes_at_once_leave_one_proposal_with_its_own_order(app, staff_client, ranked, staff):
    """A stored proposal goes stale; a refresh starts and is held open halfway, its order written but not its
    proposal yet (as a slow refresh is); meanwhile an interview score changes again and a second refresh starts for
    that version. The second waits for the first (the proposal row's lock, taken before anything is written), then
    replaces the order whole: the stored proposal is the latest version's, with that version's ranks only. Without
    the lock the second would delete and insert ranks beside the first's and fail on their positions."""
    interview = interviewed(ranked, staff, {2: "3.00", 4: "5.00", 3: "1.00", 5: "2.00"})
    ranking_page(staff_client, ranked.call)  # stored: 4, 2, 5, 3
    assert [n for n, _ in stored(ranked)] == [4, 2, 5, 3]
    score(ranked, interview, {2: "3.00", 4: "5.00", 3: "4.00", 5: "2.00"})  # stale: 4, 3, 2, 5 from now
    call_id, interview_id = ranked.call.id, interview.id
    ids = {n: a.id for n, a in ranked.apps.items()}

    def first_refresh() -> list[int]:  # refresh_proposal's first two steps: the lock, then the order and summary
        ranking._hold_stored_proposal(call_id, "normalised")
        ranking._compute_proposal(db.session.get_one(Call, call_id), "normalised")
        return [i for i, in db.session.execute(select(CombinedRank.application_id).where(
            CombinedRank.call_id == call_id, CombinedRank.sort == "normalised").order_by(CombinedRank.position))]

    def change_then_refresh() -> int:
        # 2's interview 3.00 -> 5.00 (1.76 + 3.00 = 4.76, first) and 5 has no interview score any more (not ranked).
        stages.store_stage_scores(db.session.get_one(SelectionStage, interview_id),
                                  [(ids[2], Decimal("5.00"), Decimal("5.00"), 2),
                                   (ids[4], Decimal("5.00"), Decimal("5.00"), 2),
                                   (ids[3], Decimal("4.00"), Decimal("4.00"), 2)])
        db.session.commit()
        changed = db.session.get_one(Call, call_id).ranking_version
        ranking.refresh_proposal(db.session.get_one(Call, call_id), "normalised", changed)
        return changed

    held, changed = while_held(app, first_refresh, in_own_context(app, change_then_refresh))
    assert numbers(ranked, held) == [4, 3, 2, 5]  # the first refresh's order, as it stored it
    assert isinstance(changed, int), changed

    db.session.expire_all()
    proposal = db.session.scalars(select(RankingProposal).where(RankingProposal.call_id == call_id,
                                                                RankingProposal.sort == "normalised")).one()
    assert proposal.version == changed == db.session.get_one(Call, call_id).ranking_version
    assert stored(ranked) == [(2, "4.76"), (4, "4.64"), (3, "3.80")]  # no rank left over from the first refresh
    assert computed(ranked) == [2, 4, 3]
    assert proposal.summary["scored"] == 3
