"""Country codes: every form of a country is one code, and an unknown one is an error.

The origin guard compares codes, so "SS", "728" and "South Sudan" must all be "SSD"; a form
the gateway cannot read must fail, never pass as some other country or as none.
"""

from __future__ import annotations

import time

import pytest
from pydantic import BaseModel, ValidationError

from gateway.canonical import (
    AmbiguousCountryError,
    Countries,
    Country,
    Person,
    UnknownCountryError,
    country_codes,
    normalise_country,
)
from gateway.canonical.countries import icao_special_codes, is_state, load_country_names
from gateway.errors import ConfigurationError


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
        # official and common names pycountry spells otherwise (data/country-names.yaml)
        ("State of Eritrea", "ERI"),
        ("Republic of the Union of Myanmar", "MMR"),
        ("Islamic Republic of Iran", "IRN"),
        ("Republic of Türkiye", "TUR"),
        ("Republic of Turkey", "TUR"),
        ("Czechia", "CZE"),
        ("Czech Republic", "CZE"),
        ("Kingdom of Eswatini", "SWZ"),
        ("Swaziland", "SWZ"),
        ("Democratic People's Republic of Korea", "PRK"),
        ("Republic of Korea", "KOR"),
        ("Lao People's Democratic Republic", "LAO"),
        ("Lao PDR", "LAO"),
        ("Federal Democratic Republic of Ethiopia", "ETH"),
        ("Federal Republic of Somalia", "SOM"),
        ("Republic of China", "TWN"),
        ("China", "CHN"),
        ("Holy See", "VAT"),
        ("Occupied Palestinian Territory", "PSE"),
        # accents, case, a leading "the", punctuation and whitespace do not count
        ("Cote d'Ivoire", "CIV"),
        ("Cote d’Ivoire", "CIV"),
        ("COTE D'IVOIRE", "CIV"),
        ("Turkiye", "TUR"),
        ("TÜRKIYE", "TUR"),
        ("türkiye", "TUR"),
        ("the Gambia", "GMB"),
        ("The Gambia", "GMB"),
        ("Curacao", "CUW"),
        ("Reunion", "REU"),
        ("Aland Islands", "ALA"),
        ("Sao Tome and Principe", "STP"),
        ("Guinea-Bissau", "GNB"),
        ("Guinea Bissau", "GNB"),
        ("Guinea – Bissau", "GNB"),
        ("D.R. Congo", "COD"),
        ("Congo-Kinshasa", "COD"),
        ("Congo Brazzaville", "COG"),
        ("Korea, Democratic People's Republic of", "PRK"),
        ("Lao Peoples Democratic Republic", "LAO"),
        # Whitespace is collapsed: "South  Sudan" can mean nothing but South Sudan. (It was
        # refused as a near miss before names were normalised; near misses still are, below.)
        ("South  Sudan", "SSD"),
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
        "SouthSudan",  # exact names only: a near miss is not guessed
        "Souht Sudan",
        "Sudan, South",
        "Islamic Emirate of Afghanistan",  # not a recognised official name
        "Congo Democratic",
        "Koreas",
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


# Names ordinary usage gives to two states: both where a country is a risk, an error where one
# state is needed.


@pytest.mark.parametrize(
    ("given", "codes"),
    [
        ("Congo", {"COD", "COG"}),
        ("the Congo", {"COD", "COG"}),
        ("CONGO", {"COD", "COG"}),
        ("Korea", {"KOR", "PRK"}),
        ("korea", {"KOR", "PRK"}),
        ("COD", {"COD"}),
        ("Republic of the Congo", {"COG"}),
        ("South Korea", {"KOR"}),
        (728, {"SSD"}),
        ("D<<", {"DEU"}),
    ],
)
def test_country_codes_are_every_state_a_value_may_mean(given: object, codes: set[str]) -> None:
    assert country_codes(given) == codes


@pytest.mark.parametrize("given", ["Atlantis", "", None])
def test_country_codes_of_an_unknown_value_is_an_error(given: object) -> None:
    with pytest.raises(UnknownCountryError):
        country_codes(given)


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("Congo", "'Congo' may mean COD or COG: write the code"),
        ("the Congo", "'the Congo' may mean COD or COG: write the code"),
        ("Korea", "'Korea' may mean KOR or PRK: write the code"),
    ],
)
def test_one_country_from_an_ambiguous_name_is_an_error(given: str, message: str) -> None:
    with pytest.raises(AmbiguousCountryError) as caught:
        normalise_country(given)

    assert str(caught.value) == message
    assert isinstance(caught.value, UnknownCountryError)


def test_a_country_field_refuses_an_ambiguous_name() -> None:
    with pytest.raises(ValidationError, match="may mean COD or COG: write the code"):
        _Holder(country="Congo")


class _Risks(BaseModel):
    countries: Countries


def test_a_countries_field_holds_every_state_of_an_ambiguous_name() -> None:
    assert _Risks(countries=["Congo"]).countries == ["COD", "COG"]
    assert _Risks(countries=("Syria", "Korea", "PRK", "SYR", "cod")).countries == [
        "SYR",
        "KOR",
        "PRK",
        "COD",
    ]
    assert _Risks(countries=[]).countries == []


def test_a_countries_field_points_at_the_item_it_cannot_read() -> None:
    with pytest.raises(ValidationError) as caught:
        _Risks(countries=["Congo", "Atlantis", "SYR"])

    [error] = caught.value.errors()
    assert error["loc"] == ("countries", 1)
    assert "unknown country: 'Atlantis'" in error["msg"]


@pytest.mark.parametrize("given", ["Congo", {"Congo"}, [["SYR"]], 5])
def test_a_countries_field_is_a_list_of_countries(given: object) -> None:
    if given == "Congo":  # a bare name is not a list, even one that means two states
        with pytest.raises(ValidationError, match="valid list"):
            _Risks(countries=given)
    else:
        with pytest.raises(ValidationError):
            _Risks(countries=given)


def test_a_persons_ambiguous_nationality_makes_both_states_risk_countries() -> None:
    person = Person(
        ref="p", nationalities=["Congo"], feared_countries=["Korea"], country_of_origin="COD"
    )

    assert person.nationalities == ["COD", "COG"]
    assert person.risk_countries() == {"COD", "COG", "KOR", "PRK"}


def test_a_persons_country_of_origin_must_be_one_state() -> None:
    with pytest.raises(ValidationError) as caught:
        Person(ref="p", country_of_origin="Congo")

    [error] = caught.value.errors()
    assert error["loc"] == ("country_of_origin",)
    assert error["msg"] == "Value error, 'Congo' may mean COD or COG: write the code"


def test_a_hostile_country_value_is_refused_quickly_and_briefly() -> None:
    values = ["x" * 10_000, "Congo " * 2_000, "\x00\x1b[31m" * 1_000, "<" * 10_000 + "SSD"]
    started = time.perf_counter()
    for value in values:
        with pytest.raises(UnknownCountryError) as caught:
            normalise_country(value)
        assert len(str(caught.value)) < 120
    assert time.perf_counter() - started < 1


# The names file: the shipped one loads, a broken one fails loudly at load.


def test_the_shipped_country_names_load() -> None:
    names = load_country_names()

    assert names["congo"] == {"COD", "COG"}
    assert names["korea"] == {"KOR", "PRK"}
    assert names["state of eritrea"] == {"ERI"}
    assert names["d"] == {"DEU"}
    assert names["xk"] == {"RKS"}
    assert all(len(codes) == 1 for name, codes in names.items() if name not in {"congo", "korea"})


_GOOD = """
aliases:
  Burma: MMR
ambiguous:
  Korea: [KOR, PRK]
"""


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (_GOOD.replace("MMR", "MYA"), "aliases.Burma: unknown code MYA"),
        (_GOOD.replace("[KOR, PRK]", "[KOR, ZZZ]"), "ambiguous.Korea: unknown code ZZZ"),
        (_GOOD + "  BURMA: [MMR, THA]\n", "ambiguous.BURMA: the same name as 'aliases.Burma'"),
        (_GOOD.replace("Burma", "Korea"), "ambiguous.Korea: the same name as 'aliases.Korea'"),
        (_GOOD.replace("Burma: MMR", "Burma: MMR\n  burma: THA"), "the same name as"),
        (_GOOD.replace("Burma: MMR", "Burma: MMR\n  Burma: THA"), "is written twice"),
        (_GOOD.replace("[KOR, PRK]", "[KOR]"), "needs two codes or more"),
        (_GOOD.replace("[KOR, PRK]", "[KOR, KOR]"), "needs two codes or more"),
        (_GOOD.replace("Burma", "Congo").replace("MMR", "COD"), "ISO gives this name to COG"),
        (_GOOD.replace("Korea", "Congo"), "ISO gives this name to COG"),
        (_GOOD.replace("Burma", "SA").replace("MMR", "ZAF"), "aliases.SA: this is the code of SAU"),
        (_GOOD.replace("Burma", "UNO"), "aliases.UNO: this is the code of UNO"),
        (_GOOD.replace("Burma", "'760'"), "a name must hold letters"),
        (_GOOD.replace("Burma", "'...'"), "a name must hold letters"),
        (_GOOD.replace("Burma: MMR", "Burma: [MMR]"), "aliases.Burma: Input should be"),
        (_GOOD.replace("Burma", "NO"), "Input should be a valid string"),  # YAML's false
        (_GOOD + "extra: {}\n", "extra: Extra inputs are not permitted"),
        ("aliases: {}\n", "ambiguous: Field required"),
        ("aliases: [", "not valid YAML"),
    ],
)
def test_a_broken_country_names_file_fails_loudly(text: str, problem: str) -> None:
    with pytest.raises(ConfigurationError, match="data/country-names.yaml is invalid") as err:
        load_country_names(text)

    assert problem in str(err.value)
    assert err.value.problems


def test_a_good_country_names_file_loads() -> None:
    names = load_country_names(_GOOD.replace("Burma: MMR", "Burma: MMR\n  Germany: DEU"))

    assert names["burma"] == {"MMR"}
    assert names["germany"] == {"DEU"}  # an alias may repeat ISO's own name
    assert names["korea"] == {"KOR", "PRK"}
    assert "drc" not in names  # only the given file's names, besides pycountry's


@pytest.mark.parametrize(
    "given", [10**5000, -(10**5000), 1000, -1], ids=["huge", "huge-negative", "1000", "-1"]
)
def test_a_number_out_of_range_is_an_unknown_country(given: int) -> None:
    # A huge one raised Python's ValueError (too long to write out), which callers that
    # catch UnknownCountryError let through.
    with pytest.raises(UnknownCountryError, match="a numeric code is 0 to 999"):
        country_codes(given)
    with pytest.raises(ValidationError) as caught:
        Person(ref="p", nationalities=["SYR", given])

    assert caught.value.errors()[0]["loc"] == ("nationalities", 1)
