"""A subject is one person under every name for them: the guard finds what it remembered under
any spelling of an identifier its scheme treats as the same, and under any identifier that
was ever sent together with a known one."""

from __future__ import annotations

from sqlalchemy import insert

from gateway.canonical import Identifier, Person
from gateway.crypto import Pseudonymiser
from gateway.store.db import Database
from gateway.store.models import RememberedRisk, utcnow
from gateway.subjects import (
    Recalled,
    Subject,
    by_ref,
    identify,
    recall,
    recalled_after,
    remember,
)

PSEUDONYMISER = Pseudonymiser(b"k" * 32)


def person(*identifiers: tuple[str, str], ref: str = "p") -> Person:
    return Person(ref=ref, identifiers=[Identifier(scheme=s, value=v) for s, v in identifiers])


def seen(db: Database, who: Person, risk: frozenset[str] = frozenset()) -> frozenset[str]:
    """Decide on a message about `who` as the pipeline does: recall, then remember."""
    subjects = identify([who], PSEUDONYMISER)
    with db.transaction() as connection:
        recalled = recall(connection, subjects)
        known = by_ref(subjects, recalled)[who.ref]
        remember(connection, subjects, {who.ref: known | risk}, recalled)
    return known


def test_spellings_a_scheme_treats_as_one_give_one_pseudonym() -> None:
    forms = ["KKM-25-001234", "kkm 25 001234", "KKM25001234", "kkm.25/001234"]
    subjects = [identify([person(("progres-individual", f))], PSEUDONYMISER)[0] for f in forms]
    assert len({s.primary for s in subjects}) == 1


def test_risk_remembered_under_one_spelling_is_found_under_another(db: Database) -> None:
    seen(db, person(("passport", "P<1234 567")), frozenset({"SYR"}))
    assert seen(db, person(("PASSPORT", "p1234567"))) == {"SYR"}


def test_identifiers_sent_together_find_each_others_risk_later(db: Database) -> None:
    # First seen with two identifiers and no risk country: the two are linked.
    assert seen(db, person(("progres-individual", "A-1"), ("national-id", "N-9"))) == set()
    # Then the risk arrives under one of them only.
    seen(db, person(("national-id", "N-9")), frozenset({"ERI"}))
    # A message naming only the other identifier is still bound by it.
    assert seen(db, person(("progres-individual", "A-1"))) == {"ERI"}


def test_links_are_followed_however_many_steps_away(db: Database) -> None:
    seen(db, person(("a", "1"), ("b", "2")))
    seen(db, person(("b", "2"), ("c", "3")))
    seen(db, person(("c", "3"), ("d", "4")))
    seen(db, person(("d", "4")), frozenset({"AFG"}))
    assert seen(db, person(("a", "1"))) == {"AFG"}


def test_unlinked_people_stay_apart(db: Database) -> None:
    seen(db, person(("a", "1")), frozenset({"AFG"}))
    assert seen(db, person(("a", "2"))) == set()


def test_a_subject_without_identifiers_is_unidentified_and_recalls_nothing(db: Database) -> None:
    subjects = identify([person()], PSEUDONYMISER)
    assert subjects == [Subject("p", ())]
    with db.transaction() as connection:
        assert recall(connection, subjects) == Recalled({}, {})


def test_what_was_remembered_before_identifiers_were_normalised_is_not_forgotten(
    db: Database,
) -> None:
    """Gateways before pseudonymised identifiers as spelled; their rows still bind."""
    before = PSEUDONYMISER.pseudonym("progres-individual", "KKM-25-001234")
    with db.transaction() as connection:
        connection.execute(
            insert(RememberedRisk), {"pseudonym": before, "country": "SDN", "first_seen": utcnow()}
        )
    assert seen(db, person(("progres-individual", "KKM-25-001234"))) == {"SDN"}
    # Seen once as spelled then, the old pseudonym is linked: any spelling finds it now.
    assert seen(db, person(("progres-individual", "kkm 25 001234"))) == {"SDN"}


def test_what_a_batch_learns_is_recalled_as_a_new_read_would_recall_it(db: Database) -> None:
    """Known.learnt keeps the batch's recall up to date without reading it again."""
    seen(db, person(("a", "1"), ("b", "2")), frozenset({"SYR"}))  # linked before the batch
    seen(db, person(("z", "9")), frozenset({"IRQ"}))
    batch = [
        person(("b", "2"), ("c", "3"), ref="one"),  # joins the earlier person
        person(("c", "3"), ref="two"),  # the same person, by the new link
        person(("d", "4"), ("z", "9"), ref="three"),  # another, with its own risk
        person(("e", "5"), ref="four"),  # nobody known
    ]
    learnt_by_ref = {"one": {"ERI"}, "two": set(), "three": {"AFG"}, "four": set()}
    subjects = identify(batch, PSEUDONYMISER)
    with db.transaction() as connection:
        recalled = recall(connection, subjects)
        for subject in subjects:  # one exchange after another, as a batch decides them
            mine = [subject]
            risk = {subject.ref: by_ref(mine, recalled)[subject.ref] | learnt_by_ref[subject.ref]}
            remember(connection, mine, risk, recalled)
            recalled = recalled_after(recalled, mine, risk)
            assert recalled == recall(connection, subjects)

    assert by_ref(subjects, recalled) == {
        "one": {"SYR", "ERI"},
        "two": {"SYR", "ERI"},
        "three": {"IRQ", "AFG"},
        "four": set(),
    }
