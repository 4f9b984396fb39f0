"""Country codes: ISO 3166-1 alpha-3 plus the ICAO Doc 9303 special codes.

Every country that enters the gateway is normalised here, because the origin guard compares
codes: a country of origin written as "SY", "760", "Syria" or "Syrian Arab Republic" must be
the same "SYR" as in the rule set, or a transfer to the country of origin could slip through.
An unknown code is an error, never a silent pass.
"""

from __future__ import annotations

import csv
from functools import cache, lru_cache
from importlib.resources import files
from typing import Annotated

import pycountry
from pydantic import BeforeValidator

# ICAO writes Germany as "D" (padded "D<<" in a machine-readable zone); the rest are common
# English names that pycountry does not carry. Exact names only: a fuzzy match could turn one
# country into another, and the origin guard depends on the code being right.
_ALIASES = {
    "D": "DEU",
    "TURKEY": "TUR",
    "DR CONGO": "COD",
    "DRC": "COD",
    "CONGO-KINSHASA": "COD",
    "CONGO-BRAZZAVILLE": "COG",
    "BURMA": "MMR",
    "IVORY COAST": "CIV",
    "SWAZILAND": "SWZ",
    "CAPE VERDE": "CPV",
    "EAST TIMOR": "TLS",
    "NORTH KOREA": "PRK",
    "SOUTH KOREA": "KOR",
    "PALESTINE": "PSE",
    "VATICAN": "VAT",
    "RUSSIA": "RUS",
    "DEMOCRATIC REPUBLIC OF THE CONGO": "COD",
    "REPUBLIC OF THE CONGO": "COG",
    "KOSOVO": "RKS",
    "XK": "RKS",
    "LAOS": "LAO",
    "MOLDOVA": "MDA",
    "TANZANIA": "TZA",
    "BOLIVIA": "BOL",
    "SYRIA": "SYR",
    "VIETNAM": "VNM",
}


class UnknownCountryError(ValueError):
    """A country code or name that is neither ISO 3166-1 nor an ICAO 9303 special code."""


@cache
def icao_special_codes() -> dict[str, str]:
    """Return the ICAO 9303 special codes (code -> entity) shipped with the package."""
    text = files("gateway.canonical").joinpath("data/icao_9303_special_codes.csv").read_text()
    return {row["code3"]: row["entity"] for row in csv.DictReader(text.splitlines())}


def normalise_country(value: object) -> str:
    """Return the alpha-3 (or ICAO special) code for an alpha-2, alpha-3, numeric or name."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = f"{value:03d}"
    if not isinstance(value, str):
        raise UnknownCountryError(f"country must be a code or a name, not {type(value).__name__}")
    return _normalised(value)


@lru_cache(maxsize=4096)  # every message repeats the same few countries; unknown ones raise
def _normalised(value: str) -> str:
    text = value.strip().rstrip("<").strip()
    if not text:
        raise UnknownCountryError("country is empty")
    upper = text.upper()
    if upper in _ALIASES:
        return _ALIASES[upper]
    if upper in icao_special_codes():
        return upper
    if text.isdigit():
        country = pycountry.countries.get(numeric=text.zfill(3))
    else:
        try:
            country = pycountry.countries.lookup(text)
        except LookupError:
            country = None
    if country is None:
        raise UnknownCountryError(f"unknown country: {value!r}")
    return str(country.alpha_3)


def is_state(code: str) -> bool:
    """Tell whether a normalised code is an ISO state (not an organisation or special code)."""
    return code not in icao_special_codes() or code == "RKS"


Country = Annotated[str, BeforeValidator(normalise_country)]
"""A country field: accepts any known form, stores the normalised code."""
