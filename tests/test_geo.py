"""Country reference data: M49 regions and the DAC list answer the questions staff ask, without a database."""

from __future__ import annotations

import pycountry
import pytest

from fellowship import geo


@pytest.mark.parametrize(
    ("code", "region", "subregion", "intermediate"),
    [
        ("KE", "Africa", "Sub-Saharan Africa", "Eastern Africa"),
        ("NG", "Africa", "Sub-Saharan Africa", "Western Africa"),
        ("CM", "Africa", "Sub-Saharan Africa", "Middle Africa"),
        ("ZA", "Africa", "Sub-Saharan Africa", "Southern Africa"),
        ("EG", "Africa", "Northern Africa", None),
        ("SD", "Africa", "Northern Africa", None),
        ("VN", "Asia", "South-eastern Asia", None),
        ("JP", "Asia", "Eastern Asia", None),
        ("BD", "Asia", "Southern Asia", None),
        ("UZ", "Asia", "Central Asia", None),
        ("TR", "Asia", "Western Asia", None),
        ("BR", "Americas", "Latin America and the Caribbean", "South America"),
        ("MX", "Americas", "Latin America and the Caribbean", "Central America"),
        ("HT", "Americas", "Latin America and the Caribbean", "Caribbean"),
        ("US", "Americas", "Northern America", None),
        ("FR", "Europe", "Western Europe", None),
        ("JE", "Europe", "Northern Europe", "Channel Islands"),
        ("FJ", "Oceania", "Melanesia", None),
        ("AU", "Oceania", "Australia and New Zealand", None),
    ],
)
def test_countries_sit_in_their_m49_region_subregion_and_intermediate_region(code, region, subregion, intermediate):
    assert geo.region_of(code) == region
    assert geo.subregion_of(code) == subregion
    assert geo.intermediate_region_of(code) == intermediate


def test_every_iso_country_has_exactly_one_m49_row():
    known = {c.alpha_2 for c in pycountry.countries}
    missing = sorted(code for code in known if geo.region_of(code) is None and geo.subregion_of(code) is None)
    assert missing == ["AQ"]  # Antarctica belongs to no M49 region
    assert known <= set(geo._m49())


def test_every_region_in_the_data_is_one_of_the_five_m49_regions():
    assert geo.REGIONS == ("Africa", "Americas", "Asia", "Europe", "Oceania")
    assert {area.region for area in geo._m49().values()} == {*geo.REGIONS, None}


def test_the_americas_are_shown_as_latin_america_or_northern_america():
    assert geo.display_region_of("BR") == "Latin America and the Caribbean"
    assert geo.display_region_of("CA") == "Northern America"
    assert geo.display_region_of("KE") == "Africa"
    assert geo.display_region_of("ZZ") is None


@pytest.mark.parametrize("code", ["KE", "NG", "ET", "BD", "VN", "ID", "IN", "EG", "BR", "PS", "XK"])
def test_dac_recipients_are_developing(code):
    assert geo.is_developing(code)


@pytest.mark.parametrize("code", ["JP", "FR", "US", "GB", "KR", "SG", "SA", "AE", "IL", "CL", "UY", "SC"])
def test_high_income_countries_are_not_developing(code):
    assert not geo.is_developing(code)


def test_income_groups_follow_the_dac_list():
    assert geo.income_group("ET") == "LDC"
    assert geo.income_group("BD") == "LDC"
    assert geo.income_group("KP") == "Other LIC"
    assert geo.income_group("KE") == "LMIC"
    assert geo.income_group("CN") == "UMIC"
    assert geo.income_group("JP") is None
    assert set(geo._dac().values()) <= set(geo.INCOME_GROUPS)


def test_every_dac_recipient_has_an_m49_region():
    assert all(geo.region_of(code) in geo.REGIONS for code in geo.developing_countries())


def test_the_africa_and_asia_preset_holds_developing_countries_there_and_nothing_else():
    preset = geo.developing_countries(["Africa", "Asia"])
    assert {"KE", "NG", "ET", "EG", "BD", "VN", "ID", "IN", "NP", "KH"} <= set(preset)
    assert not {"JP", "KR", "SG", "SA", "AE", "IL", "BR", "FJ", "UA"} & set(preset)
    assert all(geo.region_of(code) in {"Africa", "Asia"} for code in preset)
    assert preset == sorted(preset)
    assert len(preset) == len(set(preset))


def test_developing_countries_without_regions_is_the_whole_dac_list():
    everything = geo.developing_countries()
    assert set(geo.developing_countries(geo.REGIONS)) == set(everything)
    assert {"BR", "FJ", "UA", "XK"} <= set(everything)
    assert geo.developing_countries("Oceania") == geo.developing_countries(["Oceania"])


def test_an_unknown_region_is_refused_rather_than_matching_nothing():
    with pytest.raises(ValueError, match="Latin America"):
        geo.developing_countries(["Latin America"])


def test_country_names_come_from_pycountry():
    assert geo.country_name("KE") == "Kenya"
    assert geo.country_name("JP") == "Japan"
    assert geo.country_name("TZ") == "Tanzania"  # pycountry's common name, not "Tanzania, United Republic of"
    assert geo.country_name("XK") == "Kosovo"


def test_lookups_accept_lower_case_and_spaces():
    assert geo.country_name(" ke ") == "Kenya"
    assert geo.region_of("ke") == "Africa"
    assert geo.is_developing("vn")
    assert geo.is_country("jp ")


def test_unknown_codes_are_handled_without_errors():
    assert geo.country_name("ZZ") == "ZZ"
    assert not geo.is_country("ZZ")
    assert not geo.is_country("")
    assert geo.region_of("ZZ") is None
    assert geo.subregion_of("ZZ") is None
    assert geo.intermediate_region_of("ZZ") is None
    assert not geo.is_developing("ZZ")
    assert geo.income_group("ZZ") is None


def test_country_choices_cover_every_country_sorted_by_name():
    choices = geo.country_choices()
    codes = [code for code, _ in choices]
    assert set(codes) == {c.alpha_2 for c in pycountry.countries} | {"XK"}
    assert len(codes) == len(set(codes))
    assert ("KE", "Kenya") in choices
    labels = [label for _, label in choices]
    assert labels == sorted(labels, key=geo._sort_key)
    assert labels[0] == "Afghanistan"
    assert labels.index("Åland Islands") < labels.index("Albania")  # accents do not push a name to the end
    assert labels.index("Côte d'Ivoire") < labels.index("Croatia")


def test_region_choices_list_the_five_regions():
    assert geo.region_choices() == [(region, region) for region in geo.REGIONS]
