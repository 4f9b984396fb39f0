"""Identifiers: one identifier spelled as its scheme allows is one value, and nothing more.

A person is remembered under a keyed hash of each identifier: two spellings of one id must
give one hash, or a remembered country of origin is forgotten; two ids of a case-sensitive
scheme must stay two, or one person's consent would serve another.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.canonical import normalise_identifier
from gateway.canonical.identifiers import load_identifier_schemes
from gateway.canonical.text import control_character
from gateway.errors import ConfigurationError


@pytest.mark.parametrize(
    ("scheme", "value", "normalised"),
    [
        # case, spaces and separators do not count
        ("progres-individual", "481-00012345", "48100012345"),
        ("progres-individual", "481 00012345", "48100012345"),
        ("progres-individual", "48100012345", "48100012345"),
        ("progres-individual", "  481.000/123_45\t", "48100012345"),
        ("progres-individual", "abc-123", "ABC123"),
        ("progres-individual", "ABC 123", "ABC123"),
        ("progres-individual", "ABC123", "ABC123"),
        # the same characters typed otherwise: a word processor's dash, full-width forms,
        # a zero-width space or a soft hyphen pasted in, a line break
        ("progres-individual", "481–00012345", "48100012345"),
        ("progres-individual", "４８１－０００１２３４５", "48100012345"),
        ("progres-individual", "481\u200b00012345", "48100012345"),
        ("progres-individual", "481\u00ad00012345", "48100012345"),
        ("progres-individual", "481\n00012345\r\n", "48100012345"),
        # ICAO 9303 document numbers: the machine-readable zone's filler is not the number
        ("passport", "p1234567<<", "P1234567"),
        ("passport", "P<123-4567", "P1234567"),
        ("national-id", "1985-0312 4471", "198503124471"),
        ("opencrvs-registration", "b5wgyje", "B5WGYJE"),
        ("opencrvs-registration", "2025-B5WG-YJE", "2025B5WGYJE"),
        # a scheme not listed takes the default rule
        ("some-registry", "ab-12/c", "AB12C"),
        # "<" is a filler only in a passport: elsewhere it is part of the value
        ("progres-individual", "A<1", "A<1"),
        # the default upper-cases every script
        ("national-id", "straße-1", "STRASSE1"),
    ],
)
def test_one_identifier_is_one_value(scheme: str, value: str, normalised: str) -> None:
    assert normalise_identifier(scheme, value) == (scheme, normalised)


@pytest.mark.parametrize(
    "scheme", ["Progres-Individual", " PROGRES-INDIVIDUAL ", "progres-individual"]
)
def test_a_scheme_is_compared_case_folded_and_stripped(scheme: str) -> None:
    assert normalise_identifier(scheme, "abc-1") == ("progres-individual", "ABC1")


def test_an_unknown_scheme_takes_the_default_rule() -> None:
    schemes = load_identifier_schemes()

    assert schemes.rule("some-registry") == schemes.default
    assert normalise_identifier(" Some-Registry", "x y.z") == ("some-registry", "XYZ")


_CASE_SENSITIVE = """
default:
  case_sensitive: false
  separators: "-./_"
schemes:
  dhis2-uid:
    case_sensitive: true
  slashed:
    separators: "-"
"""


def test_a_case_sensitive_scheme_keeps_case() -> None:
    schemes = load_identifier_schemes(_CASE_SENSITIVE)

    assert schemes.normalise("DHIS2-UID", " aB1-c.D ") == ("dhis2-uid", "aB1cD")
    assert schemes.normalise("dhis2-uid", "aB1") != schemes.normalise("dhis2-uid", "Ab1")
    assert schemes.normalise("other", "aB1") == schemes.normalise("other", "Ab1")


def test_a_scheme_says_which_separators_do_not_count() -> None:
    schemes = load_identifier_schemes(_CASE_SENSITIVE)

    assert schemes.normalise("slashed", "a/1-2") == ("slashed", "A/12")
    assert schemes.normalise("slashed", "a/12") != schemes.normalise("slashed", "a12")
    assert schemes.rule("slashed").case_sensitive is False  # the rest is the default's


@pytest.mark.parametrize(
    ("scheme", "value"),
    [
        ("progres-individual", ""),
        ("progres-individual", "  "),
        ("progres-individual", "-./_"),
        ("progres-individual", "\u200b\t\n"),
        ("passport", "<<<<<<<<<"),
        ("some-registry", " - "),
    ],
)
def test_a_value_empty_after_normalising_is_an_error(scheme: str, value: str) -> None:
    with pytest.raises(ValueError, match=f"identifier of scheme '{scheme}' is empty"):
        normalise_identifier(scheme, value)


@pytest.mark.parametrize("scheme", ["", "  ", "\u3000"])
def test_an_empty_scheme_is_an_error(scheme: str) -> None:
    with pytest.raises(ValueError, match="identifier scheme is empty"):
        normalise_identifier(scheme, "ABC123")


@pytest.mark.parametrize("character", ["\x00", "\x1b", "\x7f", "\x85", "\u202e", "\x0b"])
def test_a_control_character_is_an_error_that_does_not_repeat_the_value(character: str) -> None:
    with pytest.raises(
        ValueError, match=f"holds control character U\\+{ord(character):04X}"
    ) as err:
        normalise_identifier("passport", f"SECRET{character}4417")
    assert "SECRET" not in str(err.value)

    with pytest.raises(ValueError, match="scheme holds control character"):
        normalise_identifier(f"pass{character}port", "P1234567")


def test_a_hostile_value_is_handled_quickly_and_briefly() -> None:
    started = time.perf_counter()

    long_value = normalise_identifier("progres-individual", "a-1 " * 2_500)
    with pytest.raises(ValueError) as empty:
        normalise_identifier("progres-individual", "- " * 5_000)
    with pytest.raises(ValueError) as control:
        normalise_identifier("x" * 10_000, "\x00" * 10_000)
    with pytest.raises(ValueError) as long_scheme:
        normalise_identifier("x" * 10_000, "-" * 10_000)

    assert time.perf_counter() - started < 1
    assert long_value == ("progres-individual", "A1" * 2_500)
    assert all(len(str(e.value)) < 150 for e in (empty, control, long_scheme))


@given(
    scheme=st.sampled_from(["progres-individual", "passport", "some-registry"]),
    value=st.text(st.characters(codec="utf-8").filter(lambda c: not control_character(c))),
)
def test_normalising_twice_changes_nothing(scheme: str, value: str) -> None:
    try:
        once = normalise_identifier(scheme, value)
    except ValueError:
        return
    assert normalise_identifier(*once) == once


def test_the_shipped_identifier_schemes_load() -> None:
    schemes = load_identifier_schemes()

    assert {"progres-individual", "passport", "national-id", "opencrvs-registration"} <= set(
        schemes.rules
    )
    assert schemes.default.case_sensitive is False
    assert set("-./_") <= set(schemes.default.separators)
    assert "<" in schemes.rule("passport").separators
    assert "<" not in schemes.default.separators


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (_CASE_SENSITIVE.replace('"-./_"', '"-./_x"'), "default: separators hold letters"),
        (_CASE_SENSITIVE.replace('separators: "-"', 'separators: "-0"'), "schemes.slashed"),
        (_CASE_SENSITIVE.replace("dhis2-uid", "DHIS2-UID"), "schemes.DHIS2-UID: a scheme is"),
        (_CASE_SENSITIVE.replace("true", "'yes'"), "Input should be a valid boolean"),
        (_CASE_SENSITIVE.replace("true", "true\n    ignore_case: true"), "Extra inputs"),
        (_CASE_SENSITIVE + "  slashed: {}\n", "is written twice"),
        (_CASE_SENSITIVE.replace("default:", "fallback:"), "default: Field required"),
        ("default: [", "not valid YAML"),
    ],
)
def test_a_broken_identifier_schemes_file_fails_loudly(text: str, problem: str) -> None:
    with pytest.raises(
        ConfigurationError, match="gateway/canonical/data/identifier-schemes.yaml is invalid"
    ) as err:
        load_identifier_schemes(text)

    assert problem in str(err.value)
