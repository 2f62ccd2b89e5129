"""The committee's ranking page on the real database: sorts, flags, the proposal and its quotas, adjustments, access,
and a query count that does not grow with the number of applications.

Scores are written directly as ApplicationScore rows (the score computation is tested on its own).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

import pytest
from sqlalchemy import insert, select

from fellowship.applications.models import Application, ApplicationStatus
from fellowship.audit.models import AuditEntry
from fellowship.auth.models import Role, User
from fellowship.calls.models import Call, RegionalQuota
from fellowship.extensions import db
from fellowship.models import utcnow
from fellowship.selection.models import (
    AdjustmentAction,
    ApplicationScore,
    Assignment,
    AssignmentStatus,
    ReviewerStrictness,
    SelectionAdjustment,
)
from tests.conftest import login, submit_form
from tests.factories import CallFactory, UserFactory, submitted_application
from tests.querycount import counted_statements
from tests.selection.factories import AssignmentFactory


def add_score(application: Application, raw: str | None, normalised: str | None, reviews: int, *,
              spread: str = "0.5", disagreement: bool = False) -> None:
    db.session.add(ApplicationScore(
        application_id=application.id, call_id=application.call_id, review_count=reviews,
        raw_mean=Decimal(raw) if raw else None, normalised_mean=Decimal(normalised) if normalised else None,
        spread=Decimal(spread), disagreement=disagreement))
    db.session.commit()


def set_quota(call: Call, region: str, percent: int) -> None:
    db.session.execute(insert(RegionalQuota).values(call_id=call.id, region=region, min_share_percent=percent))
    db.session.commit()
    db.session.expire(call)


@dataclass
class Ranked:
    """The worked example: 3 places, 2 reviews asked per application, Africa at least 50% (2 seats).

    ref  region    raw   normalised  reviews  notes
    1    Asia      4.50  3.90        2
    2    Asia      4.00  4.40        2
    3    Africa    3.80  3.50        1        missing a review
    4    Americas  3.20  4.10        2        reviewers disagree (spread 2.0)
    5    Africa    3.00  3.00        2
    6    Asia      -     -           0        no review yet: not ranked

    By normalised score: 2, 4, 1, 3, 5, then 6. By raw score: 1, 2, 3, 4, 5, then 6.
    Proposal (normalised): Africa's two seats go to 3 and 5 (both moved up), the last place to 2;
    the waitlist is 4, 1.
    """

    call: Call
    apps: dict[int, Application]

    def ref(self, n: int) -> str:
        return f"ELF-2027-{n:05d}"


@pytest.fixture
def ranked(app_ctx) -> Ranked:
    return make_ranked()


def make_ranked() -> Ranked:
    """The worked example of `Ranked`, in the database."""
    call = CallFactory(title="Environmental Leaders 2027", places=3, reviewers_per_application=2)
    set_quota(call, "Africa", 50)
    specs = {1: ("Asia", "VN", "4.50", "3.90", 2, False), 2: ("Asia", "NP", "4.00", "4.40", 2, False),
             3: ("Africa", "KE", "3.80", "3.50", 1, False), 4: ("Americas", "BR", "3.20", "4.10", 2, True),
             5: ("Africa", "GH", "3.00", "3.00", 2, False), 6: ("Asia", "BD", None, None, 0, False)}
    apps = {}
    for n, (region, nationality, raw, normalised, reviews, disagree) in specs.items():
        apps[n] = submitted_application(call, region=region, nationality=nationality, given_name=f"Given{n}",
                                        family_name=f"Family{n}")
        if raw:
            add_score(apps[n], raw, normalised, reviews, spread="2.0" if disagree else "0.5", disagreement=disagree)
    # Never in the ranking: a withdrawn application and a draft of this call, and another call's application.
    submitted_application(call, status=ApplicationStatus.WITHDRAWN, region="Africa")
    other = CallFactory(year=2028)
    add_score(submitted_application(other, region="Africa"), "5.00", "5.00", 2)
    return Ranked(call, apps)


def references(html: str) -> list[str]:
    return re.findall(r">(ELF-\d{4}-\d{5})</a>", html)


def row(html: str, application: Application) -> str:
    match = re.search(rf'<tr id="row-{application.id}"[^>]*>(.*?)</tr>', html, re.S)
    assert match, f"no row for application {application.id}"
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


def ranking_page(client, call: Call, **params: object) -> str:
    response = client.get(f"/staff/calls/{call.id}/ranking", query_string=params)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_ranking_shows_raw_and_normalised_side_by_side_best_normalised_first(staff_client, ranked):
    html = ranking_page(staff_client, ranked.call)
    assert references(html) == [ranked.ref(n) for n in (2, 4, 1, 3, 5, 6)]
    assert "Ranking: Environmental Leaders 2027" in html
    assert row(html, ranked.apps[4]).startswith("2 ELF-2027-00004 Given4 Family4 Brazil Americas Under review")
    assert "3.20 4.10" in row(html, ranked.apps[4])  # raw, then normalised
    assert "4.50 3.90" in row(html, ranked.apps[1])
    assert row(html, ranked.apps[6]).startswith("ELF-2027-00006")  # no rank without a score


def test_missing_reviews_and_disagreement_are_flagged_on_their_rows(staff_client, ranked):
    AssignmentFactory(application=ranked.apps[3], reviewer_id=UserFactory(roles=[Role.REVIEWER]).id)
    AssignmentFactory(application=ranked.apps[3], reviewer_id=UserFactory(roles=[Role.REVIEWER]).id,
                      status=AssignmentStatus.WITHDRAWN)
    html = ranking_page(staff_client, ranked.call)
    assert "1 of 2 1 assigned Missing reviews" in row(html, ranked.apps[3])
    assert "0 of 2 0 assigned Missing reviews" in row(html, ranked.apps[6])
    assert "Missing reviews" not in row(html, ranked.apps[2])
    assert "2.00 Disagreement" in row(html, ranked.apps[4])
    assert [n for n in ranked.apps if "Disagreement" in row(html, ranked.apps[n])] == [4]


def test_the_proposal_meets_the_quota_and_marks_each_row(staff_client, ranked):
    html = ranking_page(staff_client, ranked.call)
    states = {n: re.search(r"(Selected \(quota\)|Selected|Waitlist \d|Not ranked)", row(html, a)).group(1)
              for n, a in ranked.apps.items()}
    assert states == {2: "Selected", 3: "Selected (quota)", 5: "Selected (quota)", 4: "Waitlist 1",
                      1: "Waitlist 2", 6: "Not ranked"}
    assert "3 of 3 places proposed, 2 on the waitlist" in html
    quota_row = re.search(r"<th scope=\"row\">Africa</th>(.*?)</tr>", html, re.S).group(1)
    assert re.sub(r"<[^>]+>|\s+", " ", quota_row).split() == ["50%", "of", "places", "2", "2"]
    assert "Africa needs at least 2 of 3 places (50%): 2 proposed, 2 of them moved up" in html
    assert 'role="alert"' not in html
    assert "1 proposed application has fewer reviews than the call asks for." in html


def test_sorting_by_raw_score_reorders_the_table_and_the_proposal(staff_client, ranked):
    html = ranking_page(staff_client, ranked.call, sort="raw")
    assert references(html) == [ranked.ref(n) for n in (1, 2, 3, 4, 5, 6)]
    assert 'aria-current="page">Raw score' in html
    # By raw score 1 and 3 lead; Africa's seats go to 3 and 5, the last place to 1.
    assert "Selected" in row(html, ranked.apps[1]) and "Waitlist 1" in row(html, ranked.apps[2])
    assert references(ranking_page(staff_client, ranked.call, sort="bogus")) == [
        ranked.ref(n) for n in (2, 4, 1, 3, 5, 6)]


def test_pages_continue_the_rank_and_the_proposal_covers_the_whole_call(staff_client, ranked):
    html = ranking_page(staff_client, ranked.call, per_page=2, page=2)
    assert references(html) == [ranked.ref(1), ranked.ref(3)]
    assert row(html, ranked.apps[1]).startswith("3 ELF-2027-00001") and "Waitlist 2" in row(html, ranked.apps[1])
    assert "Selected (quota)" in row(html, ranked.apps[3])
    assert "Page 2 of 3" in html


def test_an_impossible_quota_is_explained_in_an_alert_above_a_best_effort_list(staff_client, ranked):
    db.session.execute(RegionalQuota.__table__.update().where(RegionalQuota.call_id == ranked.call.id)
                       .values(min_share_percent=70))
    db.session.commit()
    html = ranking_page(staff_client, ranked.call)
    alert = re.search(r'<div class="[^"]*" role="alert">(.*?)</div>', html, re.S)
    assert alert is not None
    assert "Africa needs at least 3 of 3 places (70%) but only 2 candidates from Africa are ranked." in alert.group(1)
    assert "best effort" in alert.group(1)
    assert "short by 1" in html
    assert [n for n, a in ranked.apps.items() if "Selected" in row(html, a)] == [2, 3, 5]


def test_the_strictness_of_each_reviewer_is_shown_on_its_own_page_linked_from_the_ranking(staff_client, ranked):
    harsh = UserFactory(roles=[Role.REVIEWER], full_name="Harsh Reviewer")
    new = UserFactory(roles=[Role.REVIEWER], full_name="New Reviewer")
    db.session.add_all([
        ReviewerStrictness(call_id=ranked.call.id, reviewer_id=harsh.id, review_count=6, mean=Decimal("2.1"),
                           stddev=Decimal("0.45"), normalised=True),
        ReviewerStrictness(call_id=ranked.call.id, reviewer_id=new.id, review_count=1, mean=Decimal("4.5"),
                           stddev=None, normalised=False)])
    db.session.commit()
    strictness_url = f"/staff/calls/{ranked.call.id}/ranking/reviewers"
    assert f'href="{strictness_url}"' in ranking_page(staff_client, ranked.call)
    response = staff_client.get(strictness_url)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    table = " ".join(re.sub(r"<[^>]+>", " ", html.split("<tbody>", 1)[1]).split())
    assert table.index("Harsh Reviewer") < table.index("New Reviewer")  # by name
    assert "Harsh Reviewer 6 2.10 0.45 Yes" in table
    assert "New Reviewer 1 4.50 — No: raw scores used" in table


def test_each_row_links_to_its_adjustment_form_and_only_that_row_shows_it(staff_client, ranked):
    html = ranking_page(staff_client, ranked.call)
    assert '<form method="post" class="adjust"' not in html
    target = ranked.apps[2]
    # the link's fragment is the form's first field: the browser scrolls it into view, also inside the table's box
    link = f"/staff/calls/{ranked.call.id}/ranking?sort=normalised&amp;adjust={target.id}#adjust-{target.id}-action"
    assert f'href="{link}"' in html
    assert html.count("?sort=normalised&amp;adjust=") == len(ranked.apps)

    html = ranking_page(staff_client, ranked.call, sort="normalised", adjust=target.id)
    assert html.count('<form method="post" class="adjust"') == 1
    found = re.search(rf'<tr id="row-{target.id}"[^>]*>(.*?)</tr>', html, re.S)
    assert found
    form = found.group(1)
    assert f'action="/staff/calls/{ranked.call.id}/ranking/{target.id}/adjust?sort=normalised"' in form
    assert f'name="adjust-{target.id}-action"' in form and f'name="adjust-{target.id}-reason"' in form
    assert 'name="csrf_token"' in form
    # the form it shows is the one the adjust route takes
    assert adjust(staff_client, ranked, 2, "exclude", "Already funded.", sort="normalised").status_code == 302


def adjust(client, ranked: Ranked, n: int, action: str, reason: str, **params: object):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    url = f"/staff/calls/{ranked.call.id}/ranking/{ranked.apps[n].id}/adjust" + (f"?{query}" if query else "")
    prefix = f"adjust-{ranked.apps[n].id}-"
    return submit_form(client, url, {prefix + "action": action, prefix + "reason": reason},
                       page=f"/staff/calls/{ranked.call.id}/ranking")


def adjustments() -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == "selection.adjusted")
                                   .order_by(AuditEntry.id)))


def test_an_adjustment_without_a_reason_is_refused_beside_the_field(staff_client, ranked):
    response = adjust(staff_client, ranked, 1, "include", "   ")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    app_id = ranked.apps[1].id
    assert re.search(rf'<p class="error" id="adjust-{app_id}-reason-error">Give a reason.</p>', html)
    assert f'aria-describedby="adjust-{app_id}-reason-error"' in html
    assert db.session.scalar(select(SelectionAdjustment)) is None
    assert adjustments() == []


def test_the_chairs_adjustments_are_recorded_with_the_reason_audited_and_change_the_proposal(staff_client, ranked,
                                                                                            staff):
    response = adjust(staff_client, ranked, 2, "exclude", "Already funded by another programme.", sort="normalised")
    assert response.status_code == 302
    assert response.location.endswith(f"/staff/calls/{ranked.call.id}/ranking?sort=normalised#row-{ranked.apps[2].id}")
    html = staff_client.get(response.location).get_data(as_text=True)
    assert "ELF-2027-00002 excluded from the selection." in html
    assert "Excluded by the chair" in row(html, ranked.apps[2])
    assert "Excluded by Chair Person: Already funded by another programme." in row(html, ranked.apps[2])
    # The place 2 held goes to the next by rank, 4; Africa keeps its two seats.
    assert [n for n, a in ranked.apps.items() if "Selected" in row(html, a)] == [3, 4, 5]

    assert adjust(staff_client, ranked, 1, "include", "Strong leadership record.").status_code == 302
    adjustment = db.session.scalar(select(SelectionAdjustment)
                                   .where(SelectionAdjustment.application_id == ranked.apps[1].id))
    assert adjustment is not None and adjustment.action is AdjustmentAction.INCLUDE
    assert adjustment.made_by_id == staff.id and adjustment.call_id == ranked.call.id
    html = ranking_page(staff_client, ranked.call)
    assert [n for n, a in ranked.apps.items() if "Selected" in row(html, a)] == [1, 3, 5]
    assert "Selected (included by the chair)" in row(html, ranked.apps[1])

    # A second adjustment of the same application replaces the first; clearing removes it.
    assert adjust(staff_client, ranked, 2, "include", "Funding fell through.").status_code == 302
    assert adjust(staff_client, ranked, 1, "clear", "Discussed: rank decides.").status_code == 302
    rows = db.session.execute(select(SelectionAdjustment.application_id, SelectionAdjustment.action)).all()
    assert rows == [(ranked.apps[2].id, AdjustmentAction.INCLUDE)]

    audit = adjustments()
    assert [(e.object_id, e.details["adjustment"], e.details["previous"], e.details["reason"]) for e in audit] == [
        (ranked.apps[2].id, "exclude", None, "Already funded by another programme."),
        (ranked.apps[1].id, "include", None, "Strong leadership record."),
        (ranked.apps[2].id, "include", "exclude", "Funding fell through."),
        (ranked.apps[1].id, "clear", "include", "Discussed: rank decides."),
    ]
    assert {e.actor_id for e in audit} == {staff.id}


def test_clearing_where_there_is_no_adjustment_is_refused(staff_client, ranked):
    html = adjust(staff_client, ranked, 1, "clear", "Tidy up").get_data(as_text=True)
    assert "There is no adjustment to clear." in html
    assert adjustments() == []


def test_an_application_of_another_call_cannot_be_adjusted_through_this_call(staff_client, ranked):
    stranger = submitted_application(CallFactory(year=2029))
    url = f"/staff/calls/{ranked.call.id}/ranking/{stranger.id}/adjust"
    response = submit_form(staff_client, url, {f"adjust-{stranger.id}-action": "include",
                                               f"adjust-{stranger.id}-reason": "Why not"},
                           page=f"/staff/calls/{ranked.call.id}/ranking")
    assert response.status_code == 404
    assert db.session.scalar(select(SelectionAdjustment)) is None


def test_an_unknown_call_is_not_found(staff_client, ranked):
    assert staff_client.get("/staff/calls/999999/ranking").status_code == 404


@pytest.mark.parametrize("role", [Role.APPLICANT, Role.REVIEWER])
def test_applicants_and_reviewers_are_refused_the_ranking_its_exports_and_adjustments(client, ranked, role):
    login(client, UserFactory(roles=[role]).email)
    base = f"/staff/calls/{ranked.call.id}/ranking"
    for url in (base, base + ".csv", base + ".xlsx"):
        assert client.get(url).status_code == 403, url
    prefix = f"adjust-{ranked.apps[1].id}-"
    response = submit_form(client, f"{base}/{ranked.apps[1].id}/adjust",
                           {prefix + "action": "include", prefix + "reason": "Mine"}, page="/calls")
    assert response.status_code == 403
    assert db.session.scalar(select(SelectionAdjustment)) is None
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action.like("selection.%"))) is None


def test_anonymous_visitors_are_sent_to_log_in(client, ranked):
    response = client.get(f"/staff/calls/{ranked.call.id}/ranking")
    assert response.status_code == 302 and "/auth/login" in response.location


# --- Query count ------------------------------------------------------------------------------------------------



def bulk_add(call: Call, reviewers: list[int], start: int, n: int) -> None:
    """n applications under review with applicants, scores, assignments and some adjustments, in bulk INSERTs."""
    users = [{"email": f"bulk{i}@example.org", "full_name": f"Bulk {i}", "password_hash": "x",
              "is_active_account": True} for i in range(start, start + n)]
    user_ids = db.session.scalars(insert(User).returning(User.id, sort_by_parameter_order=True), users).all()
    regions = ["Africa", "Asia", "Africa", "Americas", "Asia"]
    app_ids = db.session.scalars(insert(Application).returning(Application.id, sort_by_parameter_order=True), [{
        "call_id": call.id, "applicant_id": user_id, "status": ApplicationStatus.UNDER_REVIEW,
        "reference": f"ELF-2027-{10000 + i:05d}", "given_name": "Bulk", "family_name": f"Applicant {i}",
        "search_name": f"bulk applicant {i}", "nationality": "KE", "region": regions[i % 5], "eligible": True,
        "submitted_at": utcnow(),
    } for i, user_id in zip(range(start, start + n), user_ids, strict=True)]).all()
    db.session.execute(insert(ApplicationScore), [{
        "application_id": app_id, "call_id": call.id, "review_count": 1 + i % 3,
        "raw_mean": Decimal(1 + (i * 37) % 400 / 100), "normalised_mean": Decimal(1 + (i * 53) % 400 / 100),
        "spread": Decimal(i % 3), "disagreement": i % 3 == 2,
    } for i, app_id in zip(range(start, start + n), app_ids, strict=True)])
    db.session.execute(insert(Assignment), [{
        "call_id": call.id, "application_id": app_id, "reviewer_id": reviewer, "status": AssignmentStatus.ACTIVE,
        "due_at": utcnow(),
    } for app_id in app_ids for reviewer in reviewers])
    db.session.execute(insert(SelectionAdjustment), [{
        "call_id": call.id, "application_id": app_id, "action": AdjustmentAction.EXCLUDE, "reason": "Bulk",
    } for app_id in app_ids[::7]])
    db.session.commit()


def test_the_ranking_page_runs_the_same_number_of_queries_for_10_and_500_applications(staff_client, app_ctx):
    call = CallFactory(places=20)
    set_quota(call, "Africa", 40)
    set_quota(call, "Asia", 30)
    reviewers = [UserFactory(roles=[Role.REVIEWER]).id for _ in range(2)]
    db.session.add_all([ReviewerStrictness(call_id=call.id, reviewer_id=r, review_count=5, mean=Decimal(3),
                                           stddev=Decimal(1), normalised=True) for r in reviewers])
    db.session.commit()
    url = f"/staff/calls/{call.id}/ranking"
    bulk_add(call, reviewers, 0, 10)
    staff_client.get(url)  # warm up: first-request work (such as loading metadata) is not counted
    with counted_statements() as small:
        html = staff_client.get(url).get_data(as_text=True)
    assert len(references(html)) == 10

    bulk_add(call, reviewers, 10, 490)
    staff_client.get(url)  # the new scores make the stored proposal stale: this request recomputes it once
    with counted_statements() as large:
        html = staff_client.get(url).get_data(as_text=True)
    assert len(references(html)) == 50 and "500 applications in the ranking" in html
    assert "20 of 20 places proposed" in html

    assert len(small) == len(large), (small, large)
    assert len(large) <= 12, large
