"""GET /api/v1/fellows, /api/v1/alumni and /api/v1/alumni/outcomes (staff)."""

from __future__ import annotations

import pytest

from fellowship.alumni import outcomes
from fellowship.auth.tokens import Scope
from tests.alumni.factories import make_alumnus
from tests.api.test_reviews import walk
from tests.api.world import token_header
from tests.querycount import counted_statements


def test_staff_list_fellows_filtered_by_cohort_status_and_country(world, client):
    headers = token_header(world.staff)
    cohort = world.fellows[0].call_id

    every = client.get("/api/v1/fellows", headers=headers).get_json()["items"]
    assert [f["id"] for f in every] == sorted(f.id for f in [*world.fellows, *world.alumni])
    in_cohort = client.get(f"/api/v1/fellows?cohort={cohort}", headers=headers).get_json()["items"]
    assert [f["id"] for f in in_cohort] == [f.id for f in world.fellows]
    assert in_cohort[0]["cohort"] == {"id": cohort, "title": "Call 2026", "year": 2026}
    assert in_cohort[0]["host_institution"] == "Kyoto University" and in_cohort[0]["status"] == "in_japan"
    pre = client.get("/api/v1/fellows?status=pre_arrival", headers=headers).get_json()["items"]
    assert [f["home_country"] for f in pre] == ["NP"]
    kenyans = client.get("/api/v1/fellows?country=KE", headers=headers).get_json()["items"]
    assert {f["home_country"] for f in kenyans} == {"KE"} and len(kenyans) == 2  # a fellow and an alumnus
    assert client.get("/api/v1/fellows?status=retired", headers=headers).status_code == 422
    assert client.get("/api/v1/fellows?country=kenya", headers=headers).status_code == 422


def test_one_fellow_and_an_unknown_one(world, client):
    headers = token_header(world.staff)
    fellow = world.fellows[1]
    body = client.get(f"/api/v1/fellows/{fellow.id}", headers=headers).get_json()
    assert body["id"] == fellow.id and body["home_country"] == "VN"
    assert client.get("/api/v1/fellows/999999", headers=headers).status_code == 404


def test_fellows_and_alumni_are_staff_only_and_need_their_scopes(world, client):
    for url in ("/api/v1/fellows", f"/api/v1/fellows/{world.fellows[0].id}", "/api/v1/alumni",
                "/api/v1/alumni/outcomes"):
        assert client.get(url, headers=token_header(world.applicant)).status_code == 403, url
        assert client.get(url, headers=token_header(world.reviewer)).status_code == 403, url
        assert client.get(url).status_code == 401, url
    assert client.get("/api/v1/fellows", headers=token_header(world.staff, [Scope.ALUMNI_READ])).status_code == 403
    assert client.get("/api/v1/alumni", headers=token_header(world.staff, [Scope.FELLOWS_READ])).status_code == 403


def test_the_fellows_cursor_walks_every_fellow_once_in_a_constant_number_of_statements(world, client):
    headers = token_header(world.staff)
    ids = [f["id"] for f in walk(client, "/api/v1/fellows?limit=2", headers)]
    assert ids == sorted(f.id for f in [*world.fellows, *world.alumni])
    with counted_statements() as small:
        client.get("/api/v1/fellows?limit=1", headers=headers)
    with counted_statements() as large:
        client.get("/api/v1/fellows?limit=6", headers=headers)
    assert len(large) == len(small)


def test_the_outcome_figures_are_the_dashboards_for_all_cohorts_and_for_one(world, client):
    headers = token_header(world.staff)
    cohort = world.alumni[0].call_id

    body = client.get("/api/v1/alumni/outcomes", headers=headers).get_json()

    expected = outcomes.outcomes(None)
    assert body["cohort_id"] is None
    assert body["overall"]["alumni"] == expected.overall.alumni == 3
    # Kenya answered from home, Viet Nam from the UK, Ghana never answered: 1 of 2 back in their home region.
    assert body["overall"]["answered"] == 2 and body["overall"]["returned"] == 1
    assert body["overall"]["return_rate"] == pytest.approx(0.5)
    assert body["overall"]["leadership"] == 1 and body["overall"]["with_career"] == 2
    assert body["overall"]["overdue"] == 1
    assert [(f["key"], f["alumni"]) for f in body["by_region"]] == [(f.key, f.alumni) for f in expected.by_region]
    assert [(f["key"], f["alumni"]) for f in body["by_country"]] == [(f.key, f.alumni) for f in expected.by_country]
    assert [f["key"] for f in body["cohorts"]] == [str(cohort)]
    one = client.get(f"/api/v1/alumni/outcomes?cohort={cohort}", headers=headers).get_json()
    assert one["cohort_id"] == cohort and one["overall"] == body["overall"]
    # A call without fellows is no cohort (the dashboard answers 404 too).
    assert client.get(f"/api/v1/alumni/outcomes?cohort={world.call.id}", headers=headers).status_code == 404


def test_alumni_are_listed_with_career_and_latest_follow_up_and_the_staff_lists_filters(world, client):
    headers = token_header(world.staff)
    kenya, viet_nam, ghana = world.alumni

    every = client.get("/api/v1/alumni", headers=headers).get_json()["items"]

    assert [a["id"] for a in every] == [kenya.id, viet_nam.id, ghana.id]  # fellows in Japan are not alumni
    assert every[0]["current_career"]["position"] == "Programme officer"
    assert every[0]["latest_follow_up"]["status"] == "completed"
    assert every[2]["current_career"] is None and every[2]["latest_follow_up"]["status"] == "overdue"

    def ids(query: str) -> list[int]:
        return [a["id"] for a in client.get(f"/api/v1/alumni?{query}", headers=headers).get_json()["items"]]

    assert ids("region=Africa") == [kenya.id, ghana.id]
    assert ids("follow_up=overdue") == [ghana.id]
    assert ids("sector=government") == [kenya.id, viet_nam.id]
    assert ids("country=VN") == [viet_nam.id]
    assert ids(f"cohort={kenya.call_id}&lost_contact=no") == [kenya.id, viet_nam.id, ghana.id]
    assert client.get("/api/v1/alumni?region=Atlantis", headers=headers).status_code == 422


def test_the_alumni_cursor_walks_every_alumnus_once_in_a_constant_number_of_statements(world, client):
    for _ in range(3):
        make_alumnus(application_fields={"nationality": "ET"})
    headers = token_header(world.staff)
    assert len(walk(client, "/api/v1/alumni?limit=2", headers)) == 6
    with counted_statements() as small:
        client.get("/api/v1/alumni?limit=1", headers=headers)
    with counted_statements() as large:
        client.get("/api/v1/alumni?limit=6", headers=headers)
    assert len(large) == len(small)
