"""Country codes: ISO 3166-1 alpha-3 plus the ICAO Doc 9303 special codes.

Every country that enters the gateway is normalised here, because the origin guard compares
codes: a country of origin written as "SY", "760", "Syria" or "Syrian Arab Republic" must be
the same "SYR" as in the rule set, or a transfer to the country of origin could slip through.
An unknown code is an error, never a silent pass. A name that ordinary usage gives to two
states ("Congo") means both: all of them where a country is a risk (`Countries`,
`country_codes`), an error where one state is needed (`Country`, `normalise_country`).

UnknownCountryError (ValueError)
└── AmbiguousCountryError   a name of two or more states, where one is needed

Names come from pycountry and gateway/canonical/data/country-names.yaml; a broken file is a
ConfigurationError at first use.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Mapping
from functools import cache, lru_cache
from importlib.resources import files
from typing import Annotated, Any

import pycountry
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)

from gateway.canonical.datafile import invalid, load_yaml
from gateway.errors import Problem

NAMES_FILE = "country-names.yaml"
_LONGEST = 256
"""Longer than any country name; a longer value is unknown without reading it further."""
_SHOWN = 64
"""How much of an unknown value an error repeats: enough to find it, bounded for a hostile one."""
_SEPARATORS = re.compile(r"[,\-\u2010-\u2015\u2212]")
"""Comma, hyphen and dashes: they part words ("Guinea-Bissau" is "Guinea Bissau")."""
_JOINERS = re.compile(r"['\u2018\u2019\u02bc`.]")
"""Apostrophes and full stops: they sit inside a word ("d'Ivoire", "People’s", "D.R.")."""


class UnknownCountryError(ValueError):
    """A country code or name that is neither ISO 3166-1 nor an ICAO 9303 special code."""


class AmbiguousCountryError(UnknownCountryError):
    """A country name that ordinary usage gives to two or more states, where one is needed."""


@cache
def _icao_rows() -> tuple[dict[str, str], ...]:
    text = files("gateway.canonical").joinpath("data/icao_9303_special_codes.csv").read_text()
    return tuple(csv.DictReader(text.splitlines()))


@cache
def icao_special_codes() -> dict[str, str]:
    """Return the ICAO 9303 special codes (code -> entity) shipped with the package."""
    return {row["code3"]: row["entity"] for row in _icao_rows()}


def name_key(name: str) -> str:
    """Return the form names are compared in: no accents, case folded, punctuation unified."""
    text = unicodedata.normalize("NFKD", name)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    text = " ".join(_SEPARATORS.sub(" ", _JOINERS.sub("", text)).split())
    return text.removeprefix("the ")


def normalise_country(value: object) -> str:
    """Return the alpha-3 (or ICAO special) code for an alpha-2, alpha-3, numeric or name.

    Why: a single state is needed (a country of origin, a destination's jurisdiction), so a
    name of two states is an AmbiguousCountryError, never resolved to one of them.
    """
    codes = country_codes(value)
    if len(codes) > 1:
        listed = sorted(codes)
        choices = f"{', '.join(listed[:-1])} or {listed[-1]}"
        raise AmbiguousCountryError(f"{_shown(str(value))} may mean {choices}: write the code")
    [code] = codes
    return code


def country_codes(value: object) -> frozenset[str]:
    """Return every code a value may mean: one, or each state an ambiguous name may mean."""
    if isinstance(value, int) and not isinstance(value, bool):
        if not 0 <= value <= 999:  # never written out: a huge one is too long to convert
            raise UnknownCountryError("unknown country: a numeric code is 0 to 999")
        value = f"{value:03d}"
    if not isinstance(value, str):
        raise UnknownCountryError(f"country must be a code or a name, not {type(value).__name__}")
    return _codes(value)


@lru_cache(maxsize=4096)  # every message repeats the same few countries; unknown ones raise
def _codes(value: str) -> frozenset[str]:
    text = value.strip().rstrip("<").strip()
    if not text:
        raise UnknownCountryError("country is empty")
    if len(text) <= _LONGEST:
        named = _name_index().get(name_key(text))
        if named is not None:
            return named
        code = _code(text)
        if code is not None:
            return frozenset({code})
    raise UnknownCountryError(f"unknown country: {_shown(value)}")


def _code(text: str) -> str | None:
    """Return the code an ISO alpha-2, alpha-3 or numeric code or an ICAO code stands for."""
    upper = text.upper()
    if upper in icao_special_codes():
        return upper
    if not text.isascii():
        return None
    if text.isdigit():
        country = pycountry.countries.get(numeric=text.zfill(3))
    elif text.isalpha() and len(text) == 2:
        country = pycountry.countries.get(alpha_2=upper)
    elif text.isalpha() and len(text) == 3:
        country = pycountry.countries.get(alpha_3=upper)
    else:
        country = None
    return None if country is None else str(country.alpha_3)


def _shown(value: str) -> str:
    """Quote a value for an error, control characters escaped, at most _SHOWN long."""
    quoted = repr(value)
    return quoted if len(quoted) <= _SHOWN else quoted[:_SHOWN] + "…"


def is_state(code: str) -> bool:
    """Tell whether a normalised code is an ISO state (not an organisation or special code)."""
    return code not in icao_special_codes() or code == "RKS"


class _NamesFile(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    aliases: dict[str, str]
    ambiguous: dict[str, list[str]]


@cache
def _name_index() -> Mapping[str, frozenset[str]]:
    return load_country_names()


def load_country_names(text: str | None = None) -> dict[str, frozenset[str]]:
    """Return every known name (as `name_key` writes it) with its codes, checked.

    Reads pycountry's names and data/country-names.yaml (or `text` in its place). Two
    pycountry countries whose names meet after normalising make that name ambiguous.
    Why checked: a wrong code here would let a transfer to a risk country pass the guard.
    """
    try:
        data = _NamesFile.model_validate(load_yaml(NAMES_FILE, text))
    except ValidationError as exc:
        problems = [Problem(".".join(map(str, e["loc"])), e["msg"]) for e in exc.errors()]
        raise invalid(NAMES_FILE, problems) from exc
    iso = _iso_names()
    index = dict(iso)
    written: dict[str, str] = {}  # name_key -> the name as the file writes it
    problems = []
    for section, entries in (("aliases", data.aliases), ("ambiguous", data.ambiguous)):
        for name, given in entries.items():
            codes = frozenset([given] if isinstance(given, str) else given)
            key = name_key(name)
            found = _name_problem(key, codes, section, iso)
            if key in written:
                found = f"the same name as {written[key]!r}"
            if found:
                problems.append(Problem(f"{section}.{name}", found))
            else:
                index[key] = codes
            written.setdefault(key, f"{section}.{name}")
    if problems:
        raise invalid(NAMES_FILE, problems)
    return index


def _iso_names() -> dict[str, frozenset[str]]:
    names: dict[str, set[str]] = {}
    for country in pycountry.countries:
        for field in ("name", "official_name", "common_name", "flag"):
            written = getattr(country, field, None)
            if written:
                names.setdefault(name_key(written), set()).add(str(country.alpha_3))
    return {key: frozenset(codes) for key, codes in names.items()}


def _name_problem(
    key: str,
    codes: frozenset[str],
    section: str,
    iso: Mapping[str, frozenset[str]],
) -> str | None:
    """Say what is wrong with one name of the file, or None."""
    if unknown := sorted(codes - _known_codes()):
        return f"unknown code {', '.join(unknown)}"
    if not key or key.isdigit():
        return "a name must hold letters"
    if section == "ambiguous" and len(codes) < 2:
        return "an ambiguous name needs two codes or more"
    if section == "aliases" and len(iso.get(key, codes)) > 1:
        return "ISO gives this name to more than one country: list it under ambiguous"
    if not iso.get(key, codes) <= codes:
        return f"ISO gives this name to {', '.join(sorted(iso[key]))}"
    meaning = _code_meaning(key)
    if meaning is not None and (section == "ambiguous" or meaning not in codes):
        return f"this is the code of {meaning}"
    return None


@cache
def _known_codes() -> frozenset[str]:
    return frozenset(str(c.alpha_3) for c in pycountry.countries) | set(icao_special_codes())


def _code_meaning(key: str) -> str | None:
    """Return the country a name written like a code would mean as a code, if any."""
    upper = key.upper()
    for row in _icao_rows():
        if row["code3"] == upper:
            alpha_2 = pycountry.countries.get(alpha_2=row["code2"]) if row["code2"] else None
            return upper if alpha_2 is None else str(alpha_2.alpha_3)
    return _code(key)


def _every_state(value: Any, handler: ValidatorFunctionWrapHandler) -> list[str]:
    """Validate a list of countries; an ambiguous name stands for each state it may mean.

    Why: a risk list must block every state a person may have meant. Each ambiguous name is
    validated in its place as its first code, so an error still points at the right item.
    """
    if not isinstance(value, list | tuple):
        return list(dict.fromkeys(handler(value)))  # a set, say: an ambiguous name is an error
    items = list(value)
    more: dict[int, list[str]] = {}
    for index, item in enumerate(items):
        try:
            codes = country_codes(item)
        except UnknownCountryError:
            continue  # the item's own validation reports it, at its index
        if len(codes) > 1:
            first, *others = sorted(codes)
            items[index], more[index] = first, others
    codes_in_place = handler(items)
    expanded = [
        code for index, first in enumerate(codes_in_place) for code in (first, *more.get(index, ()))
    ]
    return list(dict.fromkeys(expanded))


Country = Annotated[str, BeforeValidator(normalise_country)]
"""A country field: accepts any known form, stores the normalised code; one state only."""

Countries = Annotated[list[Country], WrapValidator(_every_state)]
"""A list of countries a person is at risk in: an ambiguous name adds each of its states."""
