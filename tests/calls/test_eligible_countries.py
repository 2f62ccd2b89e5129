"""Eligibility is visible before applying: the call page lists the eligible countries by region, and staff pick
them from region-grouped checkboxes where ticking or unticking one region leaves every other one as it was."""

from __future__ import annotations

import re

from sqlalchemy import select

from fellowship.auth.models import Role
from fellowship.calls.models import Call
from fellowship.extensions import db
from fellowship.geo import region_codes
from tests.calls.test_calls import call_form
from tests.conftest import login, submit_form
from tests.factories import CallFactory, UserFactory

AFRICA = region_codes("Africa")
OCEANIA = region_codes("Oceania")


def test_the_call_page_lists_the_eligible_countries_grouped_by_region(client, app_ctx):
    call = CallFactory(eligible_countries=["KE", "NG", "VN", "BD", "BR"])
    html = client.get(f"/calls/{call.id}").get_data(as_text=True)
    assert "eligible countries" not in html  # no bare count such as "90 eligible countries"
    listing = html[html.index('id="eligible-countries"'):]
    africa, americas, asia = (listing.index(f"<h3>{region} ") for region in ("Africa", "Americas", "Asia"))
    assert africa < americas < asia
    assert re.search(r"<h3>Africa <span class=\"count\">\(2 countries\)</span></h3>\s*"
                     r'<ul class="country-list"><li>Kenya</li><li>Nigeria</li></ul>', listing)
    assert "<li>Brazil</li>" in listing[americas:asia]
    assert "<li>Bangladesh</li><li>Vietnam</li>" in listing[asia:]
    assert "Europe" not in listing[:listing.index("</section>")]


def picker_state(html: str) -> dict[str, list[str]]:
    """What a browser sends of the country picker as the page stands: checked boxes and the hidden fields."""
    sent: dict[str, list[str]] = {}
    for tag in re.findall(r"<input [^>]*name=\"eligible_countries[^\"]*\"[^>]*>", html):
        name = re.search(r'name="([^"]+)"', tag).group(1)
        value = re.search(r'value="([^"]*)"', tag).group(1)
        if 'type="hidden"' in tag or " checked" in tag:
            sent.setdefault(name, []).append(value)
    return sent


def edit_countries(client, call: Call, change) -> list[str]:
    """Open the call's edit page, change the picker as a user would (no JavaScript), save, return the countries."""
    page = client.get(f"/staff/calls/{call.id}/edit").get_data(as_text=True)
    sent = picker_state(page)
    change(sent)
    data = {k: v for k, v in call_form(call.programme_id, title=call.title, reference_prefix="ELF").items()
            if not k.startswith("eligible_countries")}
    response = submit_form(client, f"/staff/calls/{call.id}/edit", {**data, **sent})
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    return db.session.get_one(Call, call.id).eligible_countries


def test_the_staff_picker_shows_regions_with_counts_and_whole_region_boxes(client, app_ctx):
    call = CallFactory(eligible_countries=sorted(AFRICA | {"VN"}))
    login(client, UserFactory(roles=[Role.STAFF]).email)
    page = client.get(f"/staff/calls/{call.id}/edit").get_data(as_text=True)
    assert "<select" not in page[page.index('id="eligible_countries"'):page.index("Regional quotas")]
    assert f"Africa <span class=\"count\">({len(AFRICA)} of {len(AFRICA)} selected)</span>" in page
    assert re.search(r"Asia <span class=\"count\">\(1 of \d+ selected\)</span>", page)
    assert re.search(r'name="eligible_countries-whole" value="Africa" checked>', page)
    assert re.search(r'name="eligible_countries-whole" value="Asia">', page)
    assert f"{len(AFRICA) + 1} countries selected now." in page


def test_ticking_a_whole_region_adds_it_and_keeps_the_rest_of_the_selection(client, app_ctx):
    call = CallFactory(eligible_countries=["KE", "VN"])
    login(client, UserFactory(roles=[Role.STAFF]).email)
    saved = edit_countries(client, call, lambda sent: sent.setdefault("eligible_countries-whole", []).append("Oceania"))
    assert set(saved) == OCEANIA | {"KE", "VN"}


def test_unticking_a_whole_region_empties_only_that_region(client, app_ctx):
    call = CallFactory(eligible_countries=sorted(AFRICA | OCEANIA | {"VN"}))
    login(client, UserFactory(roles=[Role.STAFF]).email)

    def untick_whole_africa(sent):
        sent["eligible_countries-whole"].remove("Africa")  # the country boxes stay ticked: no script untick them

    assert set(edit_countries(client, call, untick_whole_africa)) == OCEANIA | {"VN"}


def test_unticking_one_country_of_a_whole_region_keeps_the_others(client, app_ctx):
    call = CallFactory(eligible_countries=sorted(AFRICA | {"VN"}))
    login(client, UserFactory(roles=[Role.STAFF]).email)
    saved = edit_countries(client, call, lambda sent: sent["eligible_countries"].remove("KE"))
    assert set(saved) == (AFRICA - {"KE"}) | {"VN"}


def test_unticking_the_last_country_of_a_region_changes_nothing_else(client, app_ctx):
    call = CallFactory(eligible_countries=["KE", "VN", "BD"])
    login(client, UserFactory(roles=[Role.STAFF]).email)
    saved = edit_countries(client, call, lambda sent: sent["eligible_countries"].remove("KE"))
    assert saved == ["BD", "VN"]


def test_an_unknown_country_code_is_still_refused(client, app_ctx):
    call = CallFactory(eligible_countries=["KE"])
    login(client, UserFactory(roles=[Role.STAFF]).email)
    page = client.get(f"/staff/calls/{call.id}/edit").get_data(as_text=True)
    sent = picker_state(page)
    sent["eligible_countries"].append("ZZ")
    data = {k: v for k, v in call_form(call.programme_id, title=call.title).items()
            if not k.startswith("eligible_countries")}
    response = submit_form(client, f"/staff/calls/{call.id}/edit", {**data, **sent})
    assert response.status_code == 200 and "&#39;ZZ&#39; is not a valid choice" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalars(select(Call.eligible_countries)).one() == ["KE"]
