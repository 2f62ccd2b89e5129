"""The ranking page reads a stored proposal; every change to its inputs shows on the next view of the page.

Each test views the page first (which stores the proposal), changes one input the way the app does, and views it
again. The worked example is `tests.selection.test_ranking_page.Ranked`: 3 places, Africa at least 50%, proposal
(normalised) 2, 3, 5 with the waitlist 4, 1; application 6 has no review.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from fellowship.applications.models import Application, ApplicationStatus
from fellowship.calls.models import Call, RegionalQuota
from fellowship.extensions import db
from fellowship.selection import ranking
from fellowship.selection.models import Assignment, RankingProposal, Recommendation
from fellowship.selection.reviewing import save_review
from tests.factories import CallFactory, submitted_application
from tests.querycount import counted_statements
from tests.selection.factories import AssignmentFactory, add_rubric, panel_reviewer
from tests.selection.test_ranking_page import Ranked, make_ranked, ranking_page, row


@pytest.fixture
def ranked(app_ctx) -> Ranked:
    return make_ranked()


def selected(html: str, ranked: Ranked) -> list[int]:
    return [n for n, a in ranked.apps.items() if f'id="row-{a.id}"' in html and "Selected" in row(html, a)]


def test_an_unchanged_call_reuses_the_stored_proposal(staff_client, ranked):
    first = ranking_page(staff_client, ranked.call)
    stored = db.session.scalar(select(RankingProposal.computed_at).where(RankingProposal.call_id == ranked.call.id))
    with counted_statements() as statements:
        again = ranking_page(staff_client, ranked.call)
    assert [row(again, a) for a in ranked.apps.values()] == [row(first, a) for a in ranked.apps.values()]
    assert not [s for s in statements if s.lstrip().upper().startswith(("INSERT", "DELETE"))], statements
    db.session.expire_all()
    assert db.session.scalar(select(RankingProposal.computed_at)
                             .where(RankingProposal.call_id == ranked.call.id)) == stored


def test_a_submitted_review_refreshes_the_stored_proposal(staff_client, ranked):
    assert "Not ranked" in row(ranking_page(staff_client, ranked.call), ranked.apps[6])

    # Application 6's first review is submitted: the call's scores are recomputed from its reviews, so 6 (the
    # only application with a real review; the others' scores were written directly) is now the only one ranked.
    criteria = add_rubric(ranked.call, 1, 1)
    reviewer = panel_reviewer(ranked.call)
    assignment = AssignmentFactory(application=ranked.apps[6], reviewer_id=reviewer.id)
    save_review(db.session.get_one(Assignment, assignment.id), {c.id: 5 for c in criteria}, "Excellent.",
                Recommendation.STRONGLY_SUPPORT, submit=True)
    db.session.commit()

    html = ranking_page(staff_client, ranked.call)
    assert "Selected" in row(html, ranked.apps[6]) and "5.00" in row(html, ranked.apps[6])
    assert "Not ranked" in row(html, ranked.apps[2])
    assert "1 of 3 places proposed, 0 on the waitlist" in html


def test_an_adjustment_refreshes_the_stored_proposal(staff_client, ranked, staff):
    assert selected(ranking_page(staff_client, ranked.call), ranked) == [2, 3, 5]
    ranking.adjust(ranked.call, ranked.apps[2], "exclude", "Funded elsewhere.", staff)
    db.session.commit()
    html = ranking_page(staff_client, ranked.call)
    assert selected(html, ranked) == [3, 4, 5]
    assert "Waitlist 1" in row(html, ranked.apps[1])

    ranking.adjust(ranked.call, ranked.apps[2], "clear", "Funding fell through.", staff)
    db.session.commit()
    assert selected(ranking_page(staff_client, ranked.call), ranked) == [2, 3, 5]


def test_changing_the_places_or_a_quota_refreshes_the_stored_proposal(staff_client, ranked):
    assert "3 of 3 places proposed" in ranking_page(staff_client, ranked.call)

    ranked.call.places = 4
    db.session.commit()
    html = ranking_page(staff_client, ranked.call)
    assert "4 of 4 places proposed, 1 on the waitlist" in html
    assert selected(html, ranked) == [2, 3, 4, 5]

    db.session.add(RegionalQuota(call_id=ranked.call.id, region="Asia", min_share_percent=50))
    db.session.commit()
    html = ranking_page(staff_client, ranked.call)
    assert "Asia needs at least 2 of 4 places (50%): 2 proposed" in html
    assert selected(html, ranked) == [1, 2, 3, 5]


def test_a_status_change_refreshes_the_stored_ranking(staff_client, ranked):
    html = ranking_page(staff_client, ranked.call)
    assert "6 applications in the ranking" in html

    ranked.apps[2].status = ApplicationStatus.WITHDRAWN
    ranked.apps[4].status = ApplicationStatus.OFFER_DECLINED
    db.session.commit()
    html = ranking_page(staff_client, ranked.call)
    assert "5 applications in the ranking" in html
    assert ranked.ref(2) not in html
    assert "Declined the offer" in row(html, ranked.apps[4])
    assert selected(html, ranked) == [1, 3, 5]


def test_each_sort_keeps_its_own_stored_proposal(staff_client, ranked):
    normalised = ranking_page(staff_client, ranked.call)
    raw = ranking_page(staff_client, ranked.call, sort="raw")
    assert selected(normalised, ranked) == [2, 3, 5]
    assert selected(raw, ranked) == [1, 3, 5]
    assert selected(ranking_page(staff_client, ranked.call), ranked) == [2, 3, 5]
    assert db.session.scalars(select(RankingProposal.sort).where(RankingProposal.call_id == ranked.call.id)
                              .order_by(RankingProposal.sort)).all() == ["normalised", "raw"]


def test_a_bulk_update_refreshes_only_the_calls_it_touches(staff_client, ranked):
    other = make_ranked_call_elsewhere()
    ranking_page(staff_client, ranked.call)
    ranking_page(staff_client, other)
    versions = dict(db.session.execute(select(Call.id, Call.ranking_version)).all())

    # As a bulk status change does (no unit of work): application 2 of the worked example is withdrawn.
    db.session.execute(update(Application).where(Application.id == ranked.apps[2].id)
                       .values(status=ApplicationStatus.WITHDRAWN))
    db.session.commit()
    after = dict(db.session.execute(select(Call.id, Call.ranking_version)).all())
    assert after[ranked.call.id] > versions[ranked.call.id]
    assert after[other.id] == versions[other.id]  # its stored proposal stays valid (and its row unlocked)
    html = ranking_page(staff_client, ranked.call)
    assert ranked.ref(2) not in html and "5 applications in the ranking" in html


def make_ranked_call_elsewhere() -> Call:
    call = CallFactory(title="Another call", year=2030, places=1)
    submitted_application(call, region="Asia")
    return call
