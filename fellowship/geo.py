"""Country reference data (UN M49 regions, OECD DAC developing countries) shipped in fellowship/data/, by alpha-2."""

from __future__ import annotations

import csv
import functools
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import resources
from typing import Any

import pycountry
from babel import Locale
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

REGIONS: tuple[str, ...] = ("Africa", "Americas", "Asia", "Europe", "Oceania")
INCOME_GROUPS: tuple[str, ...] = ("LDC", "Other LIC", "LMIC", "UMIC")

# Codes the programme accepts that ISO 3166-1 (and so pycountry) does not assign: Kosovo is on the DAC list.
_EXTRA_NAMES: dict[str, str] = {"XK": "Kosovo"}


@dataclass(frozen=True, slots=True)
class M49Area:
    """Where a country sits in the M49 geoscheme; None where M49 has no such level for it."""

    region: str | None
    subregion: str | None
    intermediate_region: str | None


def _normalise(code: str) -> str:
    """Upper-case, trimmed alpha-2 code, so lookups accept what a form or a CSV import hands over."""
    return code.strip().upper()


def _read_rows(filename: str) -> list[dict[str, str]]:
    """Data rows of a shipped CSV file, skipping its leading '#' comment lines (source and version)."""
    text = (resources.files("fellowship") / "data" / filename).read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return list(csv.DictReader(lines))


@functools.cache
def _m49() -> dict[str, M49Area]:
    """The M49 table, read once and checked, so a bad edit to the data fails loudly at first use."""
    table: dict[str, M49Area] = {}
    for row in _read_rows("m49.csv"):
        code = row["alpha2"]
        region = row["region"] or None
        if code in table:
            raise ValueError(f"m49.csv: {code} appears twice")
        if region is not None and region not in REGIONS:
            raise ValueError(f"m49.csv: {code} has unknown region {region!r}")
        table[code] = M49Area(region, row["subregion"] or None, row["intermediate_region"] or None)
    return table


@functools.cache
def _dac() -> dict[str, str]:
    """The DAC list as code -> income group, read once and checked like the M49 table."""
    table: dict[str, str] = {}
    for row in _read_rows("dac_oda_recipients.csv"):
        code, group = row["alpha2"], row["income_group"]
        if code in table:
            raise ValueError(f"dac_oda_recipients.csv: {code} appears twice")
        if group not in INCOME_GROUPS:
            raise ValueError(f"dac_oda_recipients.csv: {code} has unknown income group {group!r}")
        table[code] = group
    return table


@functools.cache
def _names() -> dict[str, str]:
    """Display name of every known code: pycountry's common name where it has one, else its name."""
    names = {c.alpha_2: getattr(c, "common_name", None) or c.name for c in pycountry.countries}
    names.update(_EXTRA_NAMES)
    return names


def _sort_key(name: str) -> str:
    """Accent- and case-insensitive key, so 'Åland Islands' sorts with A and 'Côte d'Ivoire' with Co."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def _area(code: str) -> M49Area | None:
    """M49 placement of a code, or None for codes the table does not know."""
    return _m49().get(_normalise(code))


def is_country(code: str) -> bool:
    """Whether the code names a country or territory the programme knows (ISO 3166-1 alpha-2, plus XK)."""
    return _normalise(code) in _names()


def country_name(code: str) -> str:
    """Display name of a country in the reader's language (Babel's locale data, English where it has none); the
    code itself for unknown codes, so pages never break on old data."""
    return _names_in(_reader_locale()).get(_normalise(code), code)


def country_namer() -> Callable[[str], str]:
    """`country_name` bound to the reader's language now, for naming many countries at once (an export's rows):
    the language is looked up once instead of per name."""
    names = _names_in(_reader_locale())
    return lambda code: names.get(_normalise(code), code)


def _reader_locale() -> str:
    locale = get_locale()  # None outside a request or a forced locale: English
    return str(locale) if locale else "en"


@functools.cache
def _names_in(locale: str) -> dict[str, str]:
    """Every known code's name in `locale`: Babel's territory names, falling back to the English one."""
    names = _names()
    if locale == "en":
        return names
    territories = _territories(locale)
    return {code: territories.get(code) or name for code, name in names.items()}


#: M49 area codes of the region names, which Babel names in every language ("002" is "Afrique" in French).
_M49_AREA_CODES = {"Africa": "002", "Americas": "019", "Asia": "142", "Europe": "150", "Oceania": "009",
                   "Latin America and the Caribbean": "419", "Northern America": "021"}


def region_name(region: str | None) -> str:
    """A region (one of REGIONS, or a display region) named in the reader's language; the English name kept as the
    value everywhere else (filters, quotas, exports' data)."""
    if not region:
        return ""
    if region == OTHER_REGION:
        return str(_OTHER_REGION_MESSAGE)
    locale = _reader_locale()
    code = _M49_AREA_CODES.get(region)
    if locale == "en" or code is None:
        return region
    return _territories(locale).get(code) or region


# Babel's territory names per language, kept: Locale.parse per call made naming a region (a list's every row) and
# building the country names cost a locale parse each time.
@functools.lru_cache(maxsize=32)
def _territories(locale: str) -> dict[str, str]:
    return dict(Locale.parse(locale).territories)


def country_choices() -> list[tuple[str, str]]:
    """(alpha-2, name) pairs sorted by name in the reader's language, for select fields such as nationality."""
    return list(_sorted_choices(_reader_locale()))


@functools.cache
def _sorted_choices(locale: str = "en") -> tuple[tuple[str, str], ...]:
    return tuple(sorted(_names_in(locale).items(), key=lambda item: _sort_key(item[1])))


def region_of(code: str) -> str | None:
    """M49 region (Africa, Americas, Asia, Europe, Oceania) of a country, or None if it has none or is unknown."""
    area = _area(code)
    return area.region if area else None


def subregion_of(code: str) -> str | None:
    """M49 sub-region (e.g. Sub-Saharan Africa, South-eastern Asia) of a country, or None."""
    area = _area(code)
    return area.subregion if area else None


def intermediate_region_of(code: str) -> str | None:
    """M49 intermediate region (e.g. Eastern Africa, South America), or None where M49 has none."""
    area = _area(code)
    return area.intermediate_region if area else None


def display_region_of(code: str) -> str | None:
    """Region as staff read it: the Americas split into Latin America and the Caribbean / Northern America."""
    area = _area(code)
    if area is None:
        return None
    return area.subregion if area.region == "Americas" else area.region


def lazy_region_choices() -> list[tuple[str, Any]]:
    """`region_choices()` with the names translated when rendered: for form fields built at import time."""
    return [(region, LazyString(region_name, region)) for region in REGIONS]


def region_choices() -> list[tuple[str, str]]:
    """(value, label) pairs of the M49 regions, for filters on lists, dashboards and exports."""
    return [(region, region_name(region)) for region in REGIONS]


def income_group(code: str) -> str | None:
    """DAC income group (LDC, Other LIC, LMIC, UMIC) of a developing country, or None if not on the list."""
    return _dac().get(_normalise(code))


def is_developing(code: str) -> bool:
    """Whether the country is a developing country, i.e. on the OECD DAC list of ODA recipients."""
    return _normalise(code) in _dac()


def developing_countries(regions: Iterable[str] | None = None) -> list[str]:
    """DAC recipients' codes, optionally only in the given M49 regions: ["Africa", "Asia"] is the call preset."""
    if regions is None:
        return sorted(_dac())
    wanted = {regions} if isinstance(regions, str) else set(regions)
    unknown = wanted.difference(REGIONS)
    if unknown:
        raise ValueError(f"unknown M49 region(s): {', '.join(sorted(unknown))}; expected one of {', '.join(REGIONS)}")
    return sorted(code for code in _dac() if region_of(code) in wanted)


#: Heading of the countries M49 places in no region (Antarctica); a value, shown translated by region_name.
OTHER_REGION = "Other territories"
_OTHER_REGION_MESSAGE = _l("Other territories")


@dataclass(frozen=True, slots=True)
class RegionGroup:
    """The countries of one M49 region, as (alpha-2, name) pairs sorted by name."""

    region: str
    countries: tuple[tuple[str, str], ...]

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(code for code, _ in self.countries)


def countries_by_region(codes: Iterable[str] | None = None) -> list[RegionGroup]:
    """Countries grouped by M49 region (regions in REGIONS order, then any without one), names sorted within each:
    all known countries, or only `codes` (unknown codes are kept under OTHER_REGION, by their code, so old data
    still shows). Regions with no country are left out."""
    if codes is None:
        chosen = list(_sorted_choices(_reader_locale()))
    else:
        wanted = {_normalise(code) for code in codes}
        chosen = sorted(((code, country_name(code)) for code in wanted), key=lambda item: _sort_key(item[1]))
    groups: dict[str, list[tuple[str, str]]] = {region: [] for region in (*REGIONS, OTHER_REGION)}
    for code, name in chosen:
        groups[region_of(code) or OTHER_REGION].append((code, name))
    return [RegionGroup(region, tuple(countries)) for region, countries in groups.items() if countries]


def region_codes(region: str) -> frozenset[str]:
    """Every known country of an M49 region (or of OTHER_REGION); empty for an unknown region name."""
    return next((group.codes for group in _all_groups() if group.region == region), frozenset())


@functools.cache
def _all_groups() -> tuple[RegionGroup, ...]:
    return tuple(countries_by_region())
