"""The alumni directory: opted-in alumni only, searchable by country and field, no emails, alumni and staff only."""

from __future__ import annotations

from fellowship.alumni.models import LeadershipLevel
from fellowship.applications.models import EnvironmentalField
from fellowship.auth.models import Role, User
from fellowship.extensions import db
from fellowship.geo import region_of
from tests.alumni.factories import add_career, make_alumnus
from tests.conftest import login
from tests.factories import CallFactory, UserFactory


def _alumnus(call, country, given, field, *, opt_in=True):
    return make_alumnus(call, directory_opt_in=opt_in,
                        application_fields={"nationality": country, "region": region_of(country), "given_name": given,
                                            "family_name": "Alum", "environmental_field": field})


def _names(page: str) -> set[str]:
    return {name for name in ("Wanjiru", "Minh", "Hidden", "Kofi") if f"{name} Alum" in page}


def test_directory_lists_opted_in_alumni_and_searches_by_country_and_field(client, app_ctx):
    call = CallFactory(title="Environmental Leaders 2021", year=2021)
    wanjiru = _alumnus(call, "KE", "Wanjiru", EnvironmentalField.WATER)
    add_career(wanjiru, country="TZ", position="Water director", organisation="Lake Basin Board",
               level=LeadershipLevel.SENIOR)
    minh = _alumnus(call, "VN", "Minh", EnvironmentalField.ENERGY)
    add_career(minh, country="VN", position="Energy analyst", organisation="Solar Co")
    _alumnus(call, "KE", "Hidden", EnvironmentalField.WATER, opt_in=False)
    _alumnus(call, "GH", "Kofi", EnvironmentalField.WATER)  # opted in, no career entry yet

    login(client, db.session.get_one(User, minh.user_id).email)  # an alumnus
    page = client.get("/alumni/directory").get_data(as_text=True)
    assert _names(page) == {"Wanjiru", "Minh", "Kofi"}
    assert "Water director" in page and "Lake Basin Board" in page and "Environmental Leaders 2021" in page
    assert "@example.org" not in page.split("<main", 1)[1].split("</main>", 1)[0]  # no emails
    # country: the current career's country (Tanzania) or the home country (Kenya) both find Wanjiru
    assert _names(client.get("/alumni/directory?country=TZ").get_data(as_text=True)) == {"Wanjiru"}
    assert _names(client.get("/alumni/directory?country=KE").get_data(as_text=True)) == {"Wanjiru"}
    assert _names(client.get("/alumni/directory?field=water").get_data(as_text=True)) == {"Wanjiru", "Kofi"}
    assert _names(client.get("/alumni/directory?field=energy&country=VN").get_data(as_text=True)) == {"Minh"}
    assert 'href="/alumni/directory"' in page  # the nav shows the directory to alumni


def test_directory_is_for_alumni_and_staff_only(client, app, app_ctx):
    call = CallFactory()
    _alumnus(call, "KE", "Wanjiru", EnvironmentalField.WATER)
    applicant = UserFactory()
    login(client, applicant.email)
    assert client.get("/alumni/directory").status_code == 403
    assert 'href="/alumni/directory"' not in client.get("/").get_data(as_text=True)

    staff_client = app.test_client()
    login(staff_client, UserFactory(roles=[Role.STAFF]).email)
    assert "Wanjiru Alum" in staff_client.get("/alumni/directory").get_data(as_text=True)

    anonymous = app.test_client().get("/alumni/directory")
    assert anonymous.status_code == 302 and "/auth/login" in anonymous.headers["Location"]
