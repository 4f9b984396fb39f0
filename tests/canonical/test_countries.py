"""Country codes: every form of a country is one code, and an unknown one is an error.

The origin guard compares codes, so "SS", "728" and "South Sudan" must all be "SSD"; a form
the gateway cannot read must fail, never pass as some other country or as none.
"""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from gateway.canonical import Country, UnknownCountryError, normalise_country
from gateway.canonical.countries import icao_special_codes, is_state


@pytest.mark.parametrize(
    ("given", "code"),
    [
        # ISO 3166-1 alpha-2, alpha-3 and numeric, as text and as numbers
        ("SS", "SSD"),
        ("SSD", "SSD"),
        ("728", "SSD"),
        (728, "SSD"),
        ("SY", "SYR"),
        ("760", "SYR"),
        (760, "SYR"),
        ("004", "AFG"),
        ("4", "AFG"),
        (4, "AFG"),
        ("KE", "KEN"),
        # English names, official and common
        ("South Sudan", "SSD"),
        ("Republic of South Sudan", "SSD"),
        ("Syrian Arab Republic", "SYR"),
        ("Syria", "SYR"),
        ("Turkey", "TUR"),
        ("Türkiye", "TUR"),
        ("Russia", "RUS"),
        ("Russian Federation", "RUS"),
        ("DR Congo", "COD"),
        ("DRC", "COD"),
        ("Democratic Republic of the Congo", "COD"),
        ("Congo, The Democratic Republic of the", "COD"),
        ("Republic of the Congo", "COG"),
        ("Ivory Coast", "CIV"),
        ("Côte d'Ivoire", "CIV"),
        ("Burma", "MMR"),
        ("Iran", "IRN"),
        ("Palestine", "PSE"),
        ("Kosovo", "RKS"),
        ("XK", "RKS"),
        # ICAO Doc 9303 forms: Germany's one letter, machine-readable-zone filler, specials
        ("D", "DEU"),
        ("D<<", "DEU"),
        ("SSD<", "SSD"),
        ("XXA", "XXA"),
        ("XXB", "XXB"),
        ("UNO", "UNO"),
        ("RKS", "RKS"),
        ("GBD", "GBD"),
        # case and whitespace
        ("ssd", "SSD"),
        ("ss", "SSD"),
        ("d<<", "DEU"),
        ("xxa", "XXA"),
        ("  south sudan \t", "SSD"),
        ("SOUTH SUDAN", "SSD"),
        ("turkey", "TUR"),
        ("\n760 ", "SYR"),
    ],
)
def test_every_form_of_a_country_is_one_code(given: object, code: str) -> None:
    assert normalise_country(given) == code


@pytest.mark.parametrize(
    "given",
    [
        "Atlantis",
        "ZZ",
        "ZZZ",
        "999",
        "000",
        0,
        -728,
        7280,
        "0728",
        "S",
        "UN",
        "South  Sudan",  # exact names only: a near miss is not guessed
        "Sudan, South",
        "Syria!",
        "South Sudan Embassy",
    ],
)
def test_an_unknown_country_is_an_error(given: object) -> None:
    with pytest.raises(UnknownCountryError, match="unknown country"):
        normalise_country(given)


@pytest.mark.parametrize("given", ["", "   ", "<<<", "\t<< "])
def test_an_empty_country_is_an_error(given: str) -> None:
    with pytest.raises(UnknownCountryError, match="empty"):
        normalise_country(given)


@pytest.mark.parametrize("given", [None, True, False, 728.0, b"SSD", ["SSD"], {"code": "SSD"}])
def test_a_country_that_is_not_text_or_a_number_is_an_error(given: object) -> None:
    with pytest.raises(UnknownCountryError, match="must be a code or a name"):
        normalise_country(given)


def test_an_unknown_country_is_a_value_error() -> None:
    """Pydantic turns a ValueError from a validator into a validation error."""
    assert issubclass(UnknownCountryError, ValueError)


class _Holder(BaseModel):
    country: Country


def test_a_country_field_stores_the_code() -> None:
    assert _Holder(country="South Sudan").country == "SSD"
    assert _Holder(country=728).country == "SSD"
    with pytest.raises(ValidationError, match="unknown country"):
        _Holder(country="Atlantis")


def test_the_icao_special_codes_are_loaded() -> None:
    codes = icao_special_codes()

    assert {"XXA", "XXB", "XXC", "XXX", "UNO", "UNA", "RKS", "EUE"} <= set(codes)
    assert all(code == code.upper() and 1 <= len(code) <= 3 for code in codes)
    assert "Stateless" in codes["XXA"]


@pytest.mark.parametrize(
    ("code", "state"),
    [("SSD", True), ("KEN", True), ("RKS", True), ("UNO", False), ("XXA", False), ("EUE", False)],
)
def test_only_states_are_states(code: str, state: bool) -> None:
    assert is_state(code) is state
