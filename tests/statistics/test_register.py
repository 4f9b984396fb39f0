"""The statistical register is written by the exchange road itself: the people of an exchange
allowed from a registration authority, one row each, in the record's transaction.

Real proGres messages through the real pipeline, on SQLite (or PostgreSQL with
GATEWAY_TEST_DATABASE_URL).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import select

from gateway.audit.service import Reader
from gateway.canonical import BirthDate, BirthEvent, Identifier, Person, Sex
from gateway.config import Settings
from gateway.demo.flow import CIVIL_REGISTRY, EMBASSY, REGISTRATION, DemoEnvironment
from gateway.demo.flow import birth_notification as demo_birth
from gateway.errors import PolicyDeniedError
from gateway.pipeline import Inbound
from gateway.runtime import Runtime
from gateway.statistics.repository import StatisticalRegister, facts
from gateway.statistics.schemas import StatisticsQuery
from gateway.store.db import Database
from gateway.store.group import Batch
from gateway.store.models import ExchangeRecord, StatisticalSubject
from gateway.subjects import Recalled, Subject

DPO = Reader(role="dpo")
MOTHER, FATHER, CHILD = "KKM-19-004567", "KKM-19-004568", "KKM-25-001234"


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    built = Runtime.build(
        settings.model_copy(update={"relay_enabled": False, "statistics_min_cell": 3})
    )
    yield built
    built.close()


@pytest.fixture
def env(runtime: Runtime) -> Iterator[DemoEnvironment]:
    environment = DemoEnvironment.start(runtime, "http://127.0.0.1:9")  # nothing calls back
    yield environment
    environment.stop()


def submit(
    env: DemoEnvironment, key: str, to: str = CIVIL_REGISTRY, body: bytes | None = None
) -> Any:
    inbound = Inbound(
        credential=env.credentials[REGISTRATION],
        headers=env.birth_headers(to, key),
        body=demo_birth() if body is None else body,
    )
    return asyncio.run(env.runtime.exchanges.submit(inbound))


def register_rows(db: Database) -> list[dict[str, Any]]:
    with db.reading() as session:
        rows = session.execute(select(StatisticalSubject.__table__)).mappings().all()
    return sorted((dict(r) for r in rows), key=lambda r: (r["sex"], r["birth_month"]))


def test_an_allowed_birth_counts_its_family_and_nothing_that_names_them(
    env: DemoEnvironment,
) -> None:
    accepted = submit(env, "stats-birth-1")

    rows = register_rows(env.runtime.db)
    month = env.runtime.clock().strftime("%Y-%m")
    assert [
        (r["nationality"], r["sex"], r["birth_month"], json.loads(r["specific_needs"]))
        for r in rows
    ] == [
        ("SSD", "female", "1998-07", ["PG"]),  # the mother: pregnant or lactating
        ("SSD", "female", "2025-03", []),  # the child: no nationality, South Sudan of origin
        ("SSD", "male", "1994-01", []),
    ]
    assert {(r["location"], r["first_seen"], r["last_seen"]) for r in rows} == {
        (REGISTRATION, month, month)
    }
    with env.runtime.db.reading() as session:
        record = session.scalars(
            select(ExchangeRecord).where(ExchangeRecord.id == accepted.exchange_id)
        ).one()
    text = json.dumps(rows, default=str)
    for kept in record.subjects + [MOTHER, FATHER, CHILD, "Nyandeng", "Achol", "Garang", "Deng"]:
        assert kept not in text  # no pseudonym of the exchange record, no identifier, no name
    assert set(rows[0]) == {
        "key",
        "nationality",
        "sex",
        "birth_month",
        "specific_needs",
        "location",
        "first_seen",
        "last_seen",
    }


def test_the_same_people_again_are_still_three(env: DemoEnvironment) -> None:
    submit(env, "stats-birth-1")
    submit(env, "stats-birth-2")  # the same birth under another key: a second exchange
    submit(env, "stats-birth-1")  # a replay: nothing new

    assert len(register_rows(env.runtime.db)) == 3
    everyone = env.runtime.statistics.query(DPO, StatisticsQuery())
    by_sex = env.runtime.statistics.query(DPO, StatisticsQuery(dimensions=["sex"]))
    assert [c.count for c in everyone.cells] == [3]
    assert by_sex.cells == []  # two women and a man: both under k = 3


def test_a_denied_exchange_counts_no_one(env: DemoEnvironment) -> None:
    with pytest.raises(PolicyDeniedError):
        submit(env, "stats-denied-1", to=EMBASSY)  # the embassy of the country of origin

    assert register_rows(env.runtime.db) == []


def test_latest_facts_win(env: DemoEnvironment) -> None:
    submit(env, "stats-birth-1")
    changed = json.loads(demo_birth())
    mother = next(i for i in changed["individuals"] if i["progres_individualid"] == MOTHER)
    mother["progres_specificneeds"] = []
    mother["progres_nationality"] = []
    mother["progres_stateless"] = True

    submit(env, "stats-birth-2", body=json.dumps(changed).encode())

    rows = register_rows(env.runtime.db)
    assert len(rows) == 3
    assert (rows[0]["nationality"], rows[0]["specific_needs"]) == ("XXA", "[]")


def person(ref: str, identifier: str | None, **given: Any) -> Person:
    identifiers = [] if identifier is None else [Identifier(scheme="test", value=identifier)]
    return Person(ref=ref, identifiers=identifiers, **given)


def birth(*people: Person) -> BirthEvent:
    child, mother = people[0], people[1] if len(people) > 1 else person("m", None)
    return BirthEvent(child=child, mother=mother, date=dt.date(2026, 1, 2), country="KEN")


def linked(*groups: tuple[str, ...]) -> Callable[[], Recalled]:
    """Recall what the store remembers: each group of pseudonyms linked together."""
    links = {p: frozenset(group) - {p} for group in groups for p in group}
    return lambda: Recalled(risk={}, linked=links)


def write(db: Database, *exchanges: list[Any]) -> None:
    """Write what each exchange left, in one batch, as the group commit does."""
    with db.transaction() as connection:
        batch = Batch(connection)
        for writes in exchanges:
            batch.defer(*writes)
        batch.write()


@pytest.fixture
def register(runtime: Runtime) -> StatisticalRegister:
    return runtime.exchanges.register


def test_a_person_known_by_a_new_identifier_is_still_one_row(
    register: StatisticalRegister, runtime: Runtime
) -> None:
    january = dt.datetime(2026, 1, 31, 23, 0, tzinfo=dt.UTC)
    march = dt.datetime(2026, 3, 5, tzinfo=dt.UTC)
    first = birth(person("c", "child-b", sex=Sex.FEMALE))
    later = birth(person("c", "child-a", sex=Sex.MALE))  # a correction, under the other id
    write(
        runtime.db,
        register.writes(REGISTRATION, first, [Subject("c", ("ps_b",))], linked(), january),
    )

    write(
        runtime.db,
        register.writes(
            REGISTRATION, later, [Subject("c", ("ps_a",))], linked(("ps_a", "ps_b")), march
        ),
    )

    rows = register_rows(runtime.db)
    assert [(r["key"], r["sex"], r["first_seen"], r["last_seen"]) for r in rows] == [
        (register.key("ps_a"), "male", "2026-01", "2026-03")
    ]


def test_one_batch_may_name_one_person_twice(
    register: StatisticalRegister, runtime: Runtime
) -> None:
    at = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
    older = birth(person("c", "x", sex=Sex.FEMALE))
    newer = birth(person("c", "x", sex=Sex.MALE))
    subjects = [Subject("c", ("ps_x",))]

    write(
        runtime.db,
        register.writes(REGISTRATION, older, subjects, linked(), at),
        register.writes(REGISTRATION, newer, subjects, linked(("ps_x", "ps_y")), at),
        register.writes(
            REGISTRATION, newer, [Subject("c", ("ps_y",))], linked(("ps_x", "ps_y")), at
        ),
    )

    assert [(r["key"], r["sex"]) for r in register_rows(runtime.db)] == [
        (register.key("ps_x"), "male")
    ]


def test_only_registration_authorities_and_identified_people_count(
    register: StatisticalRegister,
) -> None:
    at = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
    known = birth(person("c", "x"))

    def never() -> Recalled:
        raise AssertionError("links are read only for an exchange that counts")

    assert register.writes(CIVIL_REGISTRY, known, [Subject("c", ("ps_x",))], never, at) == []
    assert (
        register.writes(REGISTRATION, birth(person("c", None)), [Subject("c", ())], linked(), at)
        == []
    )


def test_the_register_key_is_not_the_pseudonym(
    register: StatisticalRegister, runtime: Runtime
) -> None:
    """Its own key: the exchange records' pseudonyms do not find a person's row."""
    key = register.key("ps_x")

    assert key != "ps_x" and key == register.key("ps_x")
    assert key != runtime.pseudonymiser.pseudonym("statistical-register", "ps_x")


@pytest.mark.parametrize(
    ("given", "nationality"),
    [
        ({"nationalities": ["SDN", "SSD"], "country_of_origin": "ERI"}, "SDN"),
        ({"stateless": True, "country_of_origin": "MMR"}, "XXA"),
        ({"country_of_origin": "Eritrea"}, "ERI"),
        ({}, "XXX"),
    ],
)
def test_nationality_as_counted(given: dict[str, Any], nationality: str) -> None:
    someone = Person(ref="p", birth_date=BirthDate(date=dt.date(2020, 2, 29)), **given)

    assert facts(someone, "site")["nationality"] == nationality
    assert facts(someone, "site")["birth_month"] == "2020-02"
