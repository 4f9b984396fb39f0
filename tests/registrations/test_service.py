"""Multiple registration against a real database: each person who matches one registered
before with the same authority is flagged once, with the strength of the evidence, and
nothing of either record but pseudonyms is kept or said."""

from __future__ import annotations

import logging

import pytest

from gateway.canonical import BirthRegistration, DataCategory, Sex
from gateway.registrations.service import MAX_FLAGS_PER_PERSON, Flagged, flag, prepare
from gateway.store.db import Database
from gateway.store.group import Batch
from gateway.subjects import identify
from tests.registrations.support import (
    AT,
    PSEUDONYMISER,
    in_batch,
    person,
    register,
    registration,
    stored_flags,
    stored_text,
    strengths,
)

ID = ("progres-individual", "KKM-26-004211")


def test_the_same_identifier_is_a_strong_match(db: Database) -> None:
    first, _ = register(db, registration(person("Amani", "Okello", ids=[ID])))
    # Another name, another date: the identifier alone, spelled as its scheme allows.
    again = person("Grace", "Achieng", "1985-01-01", ids=[("PROGRES-INDIVIDUAL", "kkm26004211")])
    second, flagged = register(db, registration(again))

    assert strengths(flagged) == ["strong"]
    (row,) = stored_flags(db)
    subject = identify([again], PSEUDONYMISER)[0].primary
    assert row | {"id": 0, "flagged_at": None} == {
        "id": 0,
        "authority": "unhcr-progres",
        "exchange_id": second,
        "position": 0,
        "subject": subject,
        "matched_exchange_id": first,
        "matched_position": 0,
        "matched_subject": subject,
        "strength": "strong",
        "evidence": "identifier",
        "flagged_at": None,
    }


def test_evidence_the_authority_may_not_receive_neither_counts_nor_is_kept(db: Database) -> None:
    """An authority not allowed identifiers is never told that an identifier matched."""
    no_identifiers = frozenset({DataCategory.IDENTITY, DataCategory.NATIONALITY})
    register(db, registration(person("Amani", "Okello", ids=[ID])), allowed=no_identifiers)
    _, flagged = register(
        db, registration(person("Amani", "Okello", ids=[ID])), allowed=no_identifiers
    )
    assert strengths(flagged) == ["probable"]  # by name, date of birth and sex only

    _, later = register(db, registration(person("Grace", "Achieng", "1985-01-01", ids=[ID])))
    assert strengths(later) == []  # the identifiers were never kept to match against


def test_the_same_name_date_of_birth_and_sex_is_a_probable_match(db: Database) -> None:
    first, _ = register(db, registration(person("María José", "Núñez")))
    _, flagged = register(db, registration(person("NUNEZ", "jose maria")))

    assert strengths(flagged) == ["probable"]
    (row,) = stored_flags(db)
    assert (row["evidence"], row["matched_exchange_id"]) == ("name+dob+sex", first)
    assert row["subject"] == row["matched_subject"] == "unidentified"


def test_the_same_name_year_and_sex_beside_an_estimate_is_a_possible_match(
    db: Database,
) -> None:
    register(db, registration(person(born="1990-04-12")))
    _, flagged = register(db, registration(person(born="1990-01-01", estimated=True)))
    # Estimated both times: still only the year to go on.
    _, twice = register(db, registration(person(born="1990-07-01", estimated=True)))

    assert strengths(flagged) == ["possible"]
    assert strengths(twice) == ["possible", "possible"]
    assert {r["evidence"] for r in stored_flags(db)} == {"name+year+sex"}


def test_two_exact_dates_of_one_year_are_two_people(db: Database) -> None:
    register(db, registration(person(born="1990-04-12")))
    _, flagged = register(db, registration(person(born="1990-04-13")))
    assert strengths(flagged) == []


@pytest.mark.parametrize(
    "other",
    [
        person("Amani", "Okelo"),  # one letter
        person(sex=Sex.MALE),
        person(born="1991-04-12"),
        person(born=None),
        person(ids=[("progres-individual", "KKM-26-004212")], born="1970-01-01"),
    ],
    ids=["name", "sex", "date", "no-date", "other-identifier"],
)
def test_no_match_no_flag(db: Database, other: object) -> None:
    register(db, registration(person(ids=[ID])))
    _, flagged = register(db, registration(other))  # type: ignore[arg-type]
    assert strengths(flagged) == []
    assert stored_flags(db) == []


def test_the_strongest_evidence_is_the_one_flag_per_pair(db: Database) -> None:
    register(db, registration(person(ids=[ID])))
    _, flagged = register(db, registration(person(ids=[ID])))  # identifier, name, date: all
    assert strengths(flagged) == ["strong"]


def test_household_members_are_checked_and_named_by_position(db: Database) -> None:
    child = person("Baraka", "Okello", "2019-06-01", Sex.MALE, ref="c1")
    first, _ = register(db, registration(person(ids=[ID]), child))
    # The child, registered again with another family.
    mother = person("Zawadi", "Mwangi", "1980-02-02", ref="m1")
    second, flagged = register(db, registration(mother, child.model_copy(update={"ref": "k"})))

    (row,) = stored_flags(db)
    assert (row["exchange_id"], row["position"]) == (second, 1)
    assert (row["matched_exchange_id"], row["matched_position"]) == (first, 1)


def test_another_authoritys_register_is_not_searched(db: Database) -> None:
    register(db, registration(person(ids=[ID])), authority="unhcr-progres")
    _, flagged = register(db, registration(person(ids=[ID])), authority="other-authority")
    assert strengths(flagged) == []


def test_registrations_of_one_person_in_one_batch_see_each_other(db: Database) -> None:
    with db.transaction() as connection:
        batch = Batch(connection)
        first, _ = in_batch(batch, registration(person()))
        second, flagged = in_batch(batch, registration(person("Okello", "Amani")))
        batch.write()
    assert strengths(flagged) == ["probable"]
    assert [(r["exchange_id"], r["matched_exchange_id"]) for r in stored_flags(db)] == [
        (second, first)
    ]


def test_a_person_is_flagged_against_a_bounded_number_of_earlier_ones(db: Database) -> None:
    with db.transaction() as connection:
        batch = Batch(connection)
        for _ in range(MAX_FLAGS_PER_PERSON + 5):
            in_batch(batch, registration(person(estimated=True)))
        batch.write()
    _, flagged = register(db, registration(person(estimated=True)))
    assert len(strengths(flagged)) == MAX_FLAGS_PER_PERSON


def test_nothing_of_either_record_is_kept_or_logged(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    who = person("Zyqvarent Holde", "Quennimar", "1987-03-09", ids=[("national-id", "QX-99812")])
    register(db, registration(who))
    _, flagged = register(db, registration(who))

    assert strengths(flagged)
    kept = stored_text(db) + "\n" + caplog.text + "\n" + repr(flagged.flags)
    # Nothing a hex digest or a random exchange id could hold by chance.
    for clear in ("Zyqvarent", "zyqvarent", "Quennimar", "quennimar", "1987-03-09", "QX"):
        assert clear not in kept
    assert "flagged to unhcr-progres: 1 strong" in caplog.text


def test_a_prepared_batch_flags_as_registrations_checked_one_by_one(db: Database) -> None:
    earlier, _ = register(db, registration(person(ids=[ID])))
    other, _ = register(db, registration(person("Juma", "Otieno", "1975-05-05", Sex.MALE)))
    payloads = [
        registration(person("Okello", "Amani")),  # probable, against the first
        registration(person("Juma", "Otieno", "1975-01-01", Sex.MALE, estimated=True)),
        registration(person("Nobody", "Known", "2001-01-01")),
        registration(person("Okello", "Amani")),  # and against the first of this batch
    ]
    with db.transaction() as connection:
        batch = Batch(connection)
        prepared = prepare(batch, PSEUDONYMISER, [(p, "unhcr-progres") for p in payloads])
        found = [in_batch(batch, p, prepared=prepared) for p in payloads]
        batch.write()

    said = [strengths(flagged) for _, flagged in found]
    assert said == [["probable"], ["possible"], [], ["probable", "probable"]]
    matched = {(r["exchange_id"], r["matched_exchange_id"]) for r in stored_flags(db)}
    ids = [exchange_id for exchange_id, _ in found]
    assert matched == {(ids[0], earlier), (ids[1], other), (ids[3], earlier), (ids[3], ids[0])}


def test_a_registration_prepared_for_another_authority_is_read_for_its_own(
    db: Database,
) -> None:
    register(db, registration(person(ids=[ID])), authority="other-authority")
    payload = registration(person(ids=[ID]))
    with db.transaction() as connection:
        batch = Batch(connection)
        prepared = prepare(batch, PSEUDONYMISER, [(payload, "unhcr-progres")])
        _, flagged = in_batch(batch, payload, authority="other-authority", prepared=prepared)
        batch.write()
    assert strengths(flagged) == ["strong"]


def test_any_other_payload_is_left_alone(db: Database) -> None:
    """The pipeline hands every payload over; only a registration is checked or written."""
    birth = BirthRegistration(child=person(ids=[ID]), registration_number="BR-1")
    with db.transaction() as connection:
        batch = Batch(connection)
        prepared = prepare(batch, PSEUDONYMISER, [(birth, "unhcr-progres")])
        flagged = flag(batch, PSEUDONYMISER, birth, "x", "unhcr-progres", AT, prepared)
    assert prepared.checked == {} and flagged == Flagged((), [])
