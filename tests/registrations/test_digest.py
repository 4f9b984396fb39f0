"""Keyed digests of who a person is: names compared as people write them, never in clear."""

from __future__ import annotations

from gateway.canonical import PersonName, Sex
from gateway.crypto import Pseudonymiser
from gateway.registrations.digest import (
    IDENTIFIER,
    MAX_NAMES,
    NAME_DOB_SEX,
    NAME_YEAR_SEX,
    digests,
    name_tokens,
)
from gateway.subjects import identify
from tests.registrations.support import PSEUDONYMISER, person


def tokens(given: str, family: str | None = None) -> tuple[str, ...]:
    return name_tokens(PersonName(given=given.split(), family=family))


def test_case_accents_spacing_and_order_do_not_count() -> None:
    assert tokens("María José", "Núñez") == tokens("jose maria", "NUNEZ")
    assert tokens("Nunez", "Jose  Maria") == ("jose", "maria", "nunez")
    assert tokens("Çağrı", "Öztürk") == tokens("Cagri", "Ozturk")
    assert tokens("Straße") == tokens("STRASSE")


def test_apostrophes_join_and_other_punctuation_separates() -> None:
    assert tokens("Sean", "O'Brien") == tokens("Sean", "OBrien") == tokens("Sean", "O’Brien")
    assert tokens("Amir", "Al-Hassan") == tokens("Amir", "Al Hassan")
    assert tokens("Amir", "Al-Hassan") != tokens("Amir", "Alhassan")


def test_a_name_of_a_thousand_words_digests_as_a_bounded_key() -> None:
    assert len(tokens(" ".join(["a"] * 1000))) == 16


def test_evidence_by_kind() -> None:
    exact = digests(person(ids=[("progres-individual", "KKM-26-1")]), PSEUDONYMISER)
    assert sorted(d.kind for d in exact) == [IDENTIFIER, NAME_DOB_SEX, NAME_YEAR_SEX]
    estimated = digests(person(estimated=True), PSEUDONYMISER)
    assert [(d.kind, d.estimated) for d in estimated] == [(NAME_YEAR_SEX, True)]
    assert digests(person(born=None), PSEUDONYMISER) == frozenset()


def test_an_identifier_digest_is_the_subjects_pseudonym_as_its_scheme_compares_it() -> None:
    who = person(ids=[("progres-individual", "kkm 26 0001")])
    (found,) = [d for d in digests(who, PSEUDONYMISER) if d.kind == IDENTIFIER]
    same = person(ids=[("PROGRES-INDIVIDUAL", "KKM-26-0001")])
    assert found.value == identify([same], PSEUDONYMISER)[0].primary


def test_digests_are_keyed_and_hold_nothing_in_clear() -> None:
    who = person("Amani", "Okello", "1990-04-12", ids=[("national-id", "N12345")])
    ours = digests(who, PSEUDONYMISER)
    theirs = digests(who, Pseudonymiser(b"x" * 32))
    assert not {d.value for d in ours} & {d.value for d in theirs}
    shown = repr(ours)
    for clear in ("amani", "Amani", "okello", "1990", "N12345", "female"):
        assert clear not in shown


def test_sex_and_date_tell_people_apart() -> None:
    her = {d.value for d in digests(person(sex=Sex.FEMALE), PSEUDONYMISER)}
    him = {d.value for d in digests(person(sex=Sex.MALE), PSEUDONYMISER)}
    later = {d.value for d in digests(person(born="1990-04-13"), PSEUDONYMISER)}
    assert not her & him
    assert len(her & later) == 1  # the year digest: it counts only beside an estimate


def test_only_the_first_names_of_a_person_are_digested() -> None:
    who = person().model_copy(update={"names": [PersonName(given=[f"n{i}"]) for i in range(100)]})
    assert len(digests(who, PSEUDONYMISER)) == 2 * MAX_NAMES
