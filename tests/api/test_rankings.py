"""GET /api/v1/calls/{id}/ranking: the call's ranking over its stages, with the proposed selection (staff)."""

from __future__ import annotations

import pytest

from fellowship.auth.tokens import Scope
from fellowship.selection import ranking
from tests.api.test_reviews import walk
from tests.api.world import token_header
from tests.querycount import counted_statements


def test_staff_read_the_ranking_over_both_rounds_with_places_quota_seat_and_waitlist(world, client):
    wanjiru, thi_lan, kwame, siti, nusrat = (a.id for a in world.applications)

    response = client.get(f"/api/v1/calls/{world.call.id}/ranking", headers=token_header(world.staff))

    assert response.status_code == 200
    body = response.get_json()
    assert body["places"] == 2 and body["ranked"] == 5 and body["selected_count"] == 2 and body["feasible"]
    assert [(s["name"], s["weight"]) for s in body["stages"]] == [("Review", 100), ("Second review", 40)]
    assert body["quotas"] == [{"region": "Africa", "percent": 50, "minimum": 1, "proposed": 1, "met": True}]
    rows = {item["application_id"]: item for item in body["items"]}
    assert [item["application_id"] for item in body["items"]] == [thi_lan, siti, kwame, wanjiru, nusrat]
    assert [rows[i]["place"] for i in (thi_lan, siti, kwame, wanjiru)] == [1, 2, 3, 4]
    assert rows[nusrat]["place"] is None and rows[nusrat]["combined_score"] is None  # no second-round score
    # Kwame (Ghana, third) takes Africa's seat; Siti (second) waits.
    assert rows[thi_lan]["selected"] and not rows[thi_lan]["selected_by_quota"]
    assert rows[kwame]["selected"] and rows[kwame]["selected_by_quota"]
    assert rows[kwame]["quota_group"] == "Africa" and rows[siti]["quota_group"] is None
    assert not rows[siti]["selected"] and rows[siti]["waitlist_position"] == 1
    # The combined score weighs the rounds 100:40, as the ranking page does.
    first, second = (s["score"] for s in rows[siti]["stage_scores"])
    assert rows[siti]["combined_score"] == pytest.approx((first * 100 + second * 40) / 140, abs=1e-4)
    assert rows[siti]["normalised_mean"] == first and rows[siti]["name"] == "Siti Rahayu"


def test_the_cursor_walks_the_ranking_in_order_and_raw_sort_is_offered(world, client):
    headers = token_header(world.staff)
    url = f"/api/v1/calls/{world.call.id}/ranking"
    whole = client.get(url, headers=headers).get_json()["items"]
    assert [i["application_id"] for i in walk(client, f"{url}?limit=2", headers)] == [
        i["application_id"] for i in whole]
    raw = client.get(f"{url}?sort=raw", headers=headers).get_json()
    assert raw["sort"] == "raw" and len(raw["items"]) == 5
    assert client.get(f"{url}?sort=best", headers=headers).status_code == 422


def test_reviewers_and_applicants_may_not_read_a_ranking_nor_a_staff_token_without_the_scope(world, client):
    url = f"/api/v1/calls/{world.call.id}/ranking"
    assert client.get(url, headers=token_header(world.reviewer)).status_code == 403
    assert client.get(url, headers=token_header(world.applicant)).status_code == 403
    assert client.get(url, headers=token_header(world.staff, [Scope.REVIEWS_READ])).status_code == 403
    assert client.get("/api/v1/calls/999999/ranking", headers=token_header(world.staff)).status_code == 404


def test_a_page_of_the_ranking_costs_the_same_statements_whatever_its_size(world, client):
    headers = token_header(world.staff)
    url = f"/api/v1/calls/{world.call.id}/ranking"
    client.get(url, headers=headers)  # the stored proposal is computed once, then read
    with counted_statements() as small:
        client.get(f"{url}?limit=1", headers=headers)
    with counted_statements() as large:
        client.get(f"{url}?limit=5", headers=headers)
    assert len(large) == len(small)
    assert ranking.RankingProposal.__tablename__ not in " ".join(s for s in large if s.lstrip().startswith("INSERT"))
