"""Statistics never answer a count under k, and nothing in an answer depends on what it withholds.

Random populations in a real register (SQLite, or PostgreSQL with GATEWAY_TEST_DATABASE_URL),
random queries, and a count by hand to check each answer against.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from gateway.audit.service import Reader
from gateway.config import Settings
from gateway.statistics import repository
from gateway.statistics.schemas import DIMENSIONS, MAX_DIMENSIONS, StatisticsQuery
from gateway.statistics.service import Statistics, publish
from gateway.store.db import Database
from tests.statistics.people import Someone, age_band, combinations, populate, true_counts

DPO = Reader(role="dpo")
TODAY = dt.datetime(2026, 6, 15, 9, 30, tzinfo=dt.UTC)
MONTHS = ["2025-11", "2025-12", "2026-01", "2026-02"]
NATIONALITIES = ["SSD", "SDN", "COD", "XXA"]
LOCATIONS = ["unhcr-progres", "progres-dadaab"]


def statistics(db: Database, min_cell: int) -> Statistics:
    return Statistics(db, min_cell, lambda: TODAY, lambda system: frozenset())


people = st.builds(
    Someone,
    nationality=st.sampled_from(NATIONALITIES),
    sex=st.sampled_from(["female", "male", "other", "unknown"]),
    birth_month=st.none()
    | st.builds(
        lambda year, month: f"{year:04d}-{month:02d}",
        st.integers(1950, 2026),
        st.integers(1, 12),
    ),
    specific_needs=st.lists(st.sampled_from(["SV", "TR", "DS", "PG"]), max_size=3).map(tuple),
    location=st.sampled_from(LOCATIONS),
    first_seen=st.sampled_from(MONTHS),
)
# Groups of people alike, and a few odd ones: cells of every size come up, empty, under k,
# at k and over it, in one answer.
populations = st.builds(
    lambda groups, odd: [p for person, n in groups for p in [person] * n] + odd,
    st.lists(st.tuples(people, st.integers(1, 12)), max_size=6),
    st.lists(people, max_size=6),
)
queries = st.builds(
    StatisticsQuery,
    dimensions=st.lists(st.sampled_from(DIMENSIONS), unique=True, max_size=MAX_DIMENSIONS),
    nationality=st.none() | st.lists(st.sampled_from(NATIONALITIES), min_size=1, max_size=2),
    location=st.none() | st.lists(st.sampled_from(LOCATIONS), min_size=1, max_size=1),
    period_from=st.none() | st.sampled_from(MONTHS[:2]),
    period_to=st.none() | st.sampled_from(MONTHS[2:]),
    reference_date=st.none() | st.dates(dt.date(2000, 1, 1), dt.date(2030, 12, 31)),
)
PROPERTY = settings(
    max_examples=60,
    deadline=None,
    database=None,  # nothing written to the working tree
    derandomize=True,  # the same cases every run
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@PROPERTY
@given(population=populations, query=queries, min_cell=st.integers(3, 6))
def test_no_cell_under_k_and_nothing_withheld_can_be_recovered(
    db: Database, population: list[Someone], query: StatisticsQuery, min_cell: int
) -> None:
    service = statistics(db, min_cell)
    populate(db, population)

    answer = service.query(DPO, query)

    asked = answer.query
    assert asked.reference_date == (query.reference_date or TODAY.date())
    truth = true_counts(population, asked)
    published = {tuple(c.values[d] for d in asked.dimensions): c.count for c in answer.cells}
    assert all(count >= min_cell for count in published.values())
    assert published == {values: n for values, n in truth.items() if n >= min_cell}
    # Take away everyone who counts only in withheld cells: the answer must not change, so
    # nothing in it (cells, totals, notes) tells anything about them.
    withheld = {values for values, n in truth.items() if n < min_cell}
    event(f"cells published: {bool(published)}, withheld: {bool(withheld)}")
    kept = [p for p in population if not set(combinations(p, asked)) <= withheld]
    populate(db, kept)
    assert service.query(DPO, asked) == answer


def test_publish_keeps_only_cells_of_k_or_more() -> None:
    counts = {("SSD",): 5, ("SDN",): 4, ("COD",): 1, ("XXA",): 0, ("ERI",): 12}

    assert publish(counts, 5) == [(("ERI",), 12), (("SSD",), 5)]


@pytest.mark.parametrize(
    ("birth_month", "band"),
    [
        ("2026-06", "0-4"),  # born in the reference month: 0
        ("2026-07", "unknown"),  # born after the reference date
        (None, "unknown"),
        ("2021-07", "0-4"),  # 4, turning 5 next month
        ("2021-06", "5-11"),  # 5 this month
        ("2014-07", "5-11"),
        ("2014-06", "12-17"),
        ("2008-07", "12-17"),
        ("2008-06", "18-59"),
        ("1966-07", "18-59"),
        ("1966-06", "60+"),
        ("1900-01", "60+"),
    ],
)
def test_age_bands_at_their_boundaries(db: Database, birth_month: str | None, band: str) -> None:
    on = dt.date(2026, 6, 15)
    populate(db, [Someone(birth_month=birth_month)])

    with db.reading() as session:
        counted = repository.counts(session, ["age_band"], on)

    assert counted == {(band,): 1}
    assert age_band(birth_month, on) == band  # the tests' own count agrees


def test_a_birthday_counts_from_the_first_of_its_month(db: Database) -> None:
    """Exact on a month's last day, the usual reference date of a report."""
    populate(db, [Someone(birth_month="2008-12")])

    with db.reading() as session:
        on_the_last = repository.counts(session, ["age_band"], dt.date(2026, 12, 31))
        on_the_first = repository.counts(session, ["age_band"], dt.date(2026, 12, 1))
        a_month_before = repository.counts(session, ["age_band"], dt.date(2026, 11, 30))

    assert on_the_last == on_the_first == {("18-59",): 1}
    assert a_month_before == {("12-17",): 1}


def test_a_person_counts_once_for_each_specific_need(db: Database) -> None:
    populate(
        db,
        [Someone(specific_needs=("SV", "TR"))] * 5
        + [Someone(specific_needs=("SV", "SV"))] * 5
        + [Someone()] * 5
        + [Someone(specific_needs=("DS",))] * 4,
    )

    answer = statistics(db, 5).query(DPO, StatisticsQuery(dimensions=["specific_need"]))
    everyone = statistics(db, 5).query(DPO, StatisticsQuery())

    assert [(c.values["specific_need"], c.count) for c in answer.cells] == [
        ("SV", 10),
        ("TR", 5),
        ("none", 5),
    ]
    assert [c.count for c in everyone.cells] == [19]  # people, not needs
    assert any("once for each of their specific needs" in note for note in answer.notes)
    assert not any("specific needs" in note for note in everyone.notes)


def test_how_many_is_one_cell_or_none(db: Database) -> None:
    populate(db, [Someone(nationality="ERI")] * 4 + [Someone(nationality="SSD")] * 5)
    service = statistics(db, 5)

    eritreans = service.query(DPO, StatisticsQuery(nationality=["Eritrea"]))
    south_sudanese = service.query(DPO, StatisticsQuery(nationality=["SS"]))

    assert eritreans.cells == []
    assert [(c.values, c.count) for c in south_sudanese.cells] == [({}, 5)]
    assert south_sudanese.query.nationality == ["SSD"]  # as the register codes it


def test_filters_by_period_location_and_nationality(db: Database) -> None:
    populate(
        db,
        [Someone(first_seen="2025-12")] * 5
        + [Someone(first_seen="2026-02", location="progres-dadaab")] * 6
        + [Someone(first_seen="2026-03", nationality="SDN")] * 7,
    )
    service = statistics(db, 5)

    def count(**filters: object) -> list[tuple[dict[str, str], int]]:
        query = StatisticsQuery.model_validate({"dimensions": ["period"], **filters})
        return [(c.values, c.count) for c in service.query(DPO, query).cells]

    assert count(period_from="2026-01") == [({"period": "2026-02"}, 6), ({"period": "2026-03"}, 7)]
    assert count(period_to="2026-02", location=["unhcr-progres"]) == [({"period": "2025-12"}, 5)]
    assert count(nationality=["SDN", "SSD"], period_from="2026-03") == [({"period": "2026-03"}, 7)]


def test_who_may_ask(db: Database) -> None:
    groups = {"ministry-stats": frozenset({"statistics-recipient"})}
    service = Statistics(db, 5, lambda: TODAY, lambda s: groups.get(s, frozenset()))

    for reader in (Reader("admin"), DPO, Reader("system", "ministry-stats")):
        assert service.may_ask(reader)
    assert not service.may_ask(Reader("system", "unhcr-progres"))


@pytest.mark.parametrize("min_cell", ["2", "1", "0", "-5", "five", "5.5"])
def test_k_under_three_or_not_a_whole_number_fails_at_start_up(
    min_cell: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEWAY_STATISTICS_MIN_CELL", min_cell)

    with pytest.raises(ValidationError) as refused:
        Settings()

    assert refused.value.errors()[0]["loc"] == ("statistics_min_cell",)


def test_k_is_five_unless_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GATEWAY_STATISTICS_MIN_CELL", raising=False)
    assert Settings().statistics_min_cell == 5
    monkeypatch.setenv("GATEWAY_STATISTICS_MIN_CELL", "10")
    assert Settings().statistics_min_cell == 10


@pytest.fixture(autouse=True)
def _no_stray_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Settings() reads GATEWAY_* variables: only the ones a test sets."""
    monkeypatch.delenv("GATEWAY_STATISTICS_MIN_CELL", raising=False)
    yield
