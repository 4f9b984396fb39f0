"""The DPO's views of the exchange log, on the store itself (SQLite, or PostgreSQL when the suite
runs there): who may read them, what each filter keeps, a person found under every name the
exchange path would have recorded them under, and the register, denial and chart counts."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle

from gateway.audit import repository
from gateway.audit.disclosures import audit_bundle
from gateway.audit.record import Record
from gateway.audit.service import Reader
from gateway.audit.views import DisclosureQuery, DpoViews, ExportQuery
from gateway.canonical import Identifier, Person
from gateway.config import Settings
from gateway.crypto import Pseudonymiser
from gateway.delivery.repository import Delivery
from gateway.errors import ForbiddenError, InvalidInput
from gateway.store.db import Database
from gateway.subjects import identify, recall, remember

PSEUDONYMISER = Pseudonymiser(b"k" * 32)
DPO = Reader(role="dpo")
START = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)  # a Monday
RULE_A = "p, registration-authority, civil-registry, birth-notification, birth-registration"
RULE_B = "p, registration-authority, civil-registry, birth-notification, statistics"
CHILD = ("progres-individual", "KKM-25-001234")


def pseudonym(scheme: str, value: str) -> str:
    """The primary pseudonym the exchange path records for a person with this identifier."""
    return identify(
        [Person(ref="p", identifiers=[Identifier(scheme=scheme, value=value)])], PSEUDONYMISER
    )[0].primary


Write = Callable[..., Record]


@pytest.fixture
def write(db: Database) -> Write:
    """Store one exchange record; every field has a default, `at` is minutes after START."""
    count = 0

    def store(at: float = 0, **fields: Any) -> Record:
        nonlocal count
        count += 1
        values: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "recorded_at": START + dt.timedelta(minutes=at),
            "source": "unhcr-progres",
            "destination": "crvs-national",
            "destination_jurisdiction": "KEN",
            "message_type": "birth-notification",
            "purpose": "birth-registration",
            "legal_basis": "consent",
            "agreement": None,
            "subjects": (f"ps_{count:032x}",),
            "categories": ("birth", "identity"),
            "decision": "allowed",
            "reasons": ("allowed",),
            "policy_version": "sha256:0123456789abcdef",
            "policy_rule": RULE_A,
            "mapping_version": "progres/birth-notification@1 -> opencrvs/birth-notification@1",
            "request_digest": f"{count:064x}",
            "payload_digest": f"{count:064x}",
        }
        values.update({k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()})
        found = Record(**values)
        with db.transaction() as connection:
            for statement, rows in repository.writes(found):
                connection.execute(statement, rows)
        return found

    return store


@pytest.fixture
def views(db: Database, settings: Settings) -> DpoViews:
    terms = settings.model_copy(
        update={"controller": "UNHCR Kenya", "exchange_record_retention_days": 730}
    )
    return DpoViews(db, PSEUDONYMISER, terms)


def ids(page: Any) -> list[str]:
    return [e.exchange_id for e in page.exchanges]


def query(**filters: Any) -> DisclosureQuery:
    return DisclosureQuery.model_validate(filters)


# --- who may read ---------------------------------------------------------------------------


CALLS: dict[str, Callable[[DpoViews, Reader], object]] = {
    "exchanges": lambda v, r: v.exchanges(r, query()),
    "subject_history": lambda v, r: v.subject_history(r, *CHILD, query()),
    "register": lambda v, r: v.register(r),
    "denials": lambda v, r: v.denials(r),
    "transfers_per_recipient": lambda v, r: v.transfers_per_recipient(r),
}


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
@pytest.mark.parametrize(
    "reader", [Reader(role="admin"), Reader(role="system", system_id="unhcr-progres")]
)
def test_only_the_dpo_reads_the_views(
    views: DpoViews, write: Write, call: Callable[[DpoViews, Reader], object], reader: Reader
) -> None:
    write()
    with pytest.raises(ForbiddenError):
        call(views, reader)
    call(views, DPO)  # the DPO may


# --- the listing ----------------------------------------------------------------------------


def test_every_filter_given_must_match(views: DpoViews, write: Write) -> None:
    civil = write(0)
    embassy = write(
        1,
        destination="embassy-ssd",
        destination_jurisdiction="SSD",
        decision="denied",
        reasons=["origin.risk_country"],
    )
    statistics = write(2, purpose="statistics")
    back = write(
        3,
        source="crvs-national",
        destination="unhcr-progres",
        destination_jurisdiction="UNO",
        purpose="birth-registration",
    )

    def found(**filters: Any) -> list[str]:
        return ids(views.exchanges(DPO, query(**filters)))

    assert found() == [back.id, statistics.id, embassy.id, civil.id]
    assert found(recipient="crvs-national") == [statistics.id, civil.id]
    assert found(jurisdiction="SSD") == [embassy.id]
    assert found(jurisdiction="SS") == [embassy.id]  # alpha-2 as ISO 3166 users write it
    assert found(purpose="statistics") == [statistics.id]
    assert found(decision="denied") == [embassy.id]
    assert found(source="crvs-national") == [back.id]
    assert found(recipient="crvs-national", purpose="birth-registration") == [civil.id]
    at = START + dt.timedelta(minutes=1)
    assert found(since=at.isoformat()) == [back.id, statistics.id, embassy.id]
    assert found(until=at.isoformat()) == [civil.id]
    assert found(since=at.isoformat(), until=(at + dt.timedelta(minutes=1)).isoformat()) == [
        embassy.id
    ]


def test_pages_walk_every_exchange_once_with_their_delivery(views: DpoViews, write: Write) -> None:
    written = [write(n) for n in range(5)]
    seen, cursor = [], None
    while True:
        page = views.exchanges(DPO, query(limit=2, cursor=cursor))
        seen += ids(page)
        assert all(e.delivery is None for e in page.exchanges)  # nothing was queued here
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [r.id for r in reversed(written)]


@pytest.mark.parametrize(
    "filters",
    [
        {"limit": 501},
        {"limit": 0},
        {"since": "2026-11-02T09:00:00"},  # no zone
        {"since": "1764547200"},
        {"until": "9999-12-31T23:00:00-05:00"},  # after the year 9999 once in UTC
        {"since": "2026-11-03T00:00:00Z", "until": "2026-11-02T00:00:00Z"},  # backwards
        {"jurisdiction": "Atlantis"},
        {"recipient": "Not A System"},
        {"subject": "KKM-25-001234"},  # there is no filter by person in a listing
    ],
)
def test_bad_filters_are_refused(filters: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        DisclosureQuery.model_validate(filters)


def test_an_export_takes_up_to_ten_thousand_a_part() -> None:
    assert ExportQuery().limit == 10_000
    assert ExportQuery(limit=10_000).limit == 10_000
    with pytest.raises(ValueError):
        ExportQuery(limit=10_001)


# --- one person's history -------------------------------------------------------------------


def test_a_person_is_found_under_any_spelling_of_their_identifier(
    views: DpoViews, write: Write
) -> None:
    child = pseudonym(*CHILD)
    about_child = write(0, subjects=[child, "ps_" + "0" * 32])
    write(1)  # someone else
    for spelling in ("KKM-25-001234", "kkm 25 001234", "KKM25001234", "kkm.25/001234"):
        assert ids(views.subject_history(DPO, "progres-individual", spelling, query())) == [
            about_child.id
        ]
    assert ids(views.subject_history(DPO, "PROGRES-INDIVIDUAL ", "kkm25001234", query())) == [
        about_child.id
    ]


def test_a_person_is_found_under_an_identifier_linked_to_theirs(
    db: Database, views: DpoViews, write: Write
) -> None:
    """A later message named the child by two identifiers: they are linked, as the exchange
    path links them, and each finds the exchanges recorded under the other."""
    first = write(0, subjects=[pseudonym(*CHILD)])
    both = identify(
        [
            Person(
                ref="child",
                identifiers=[
                    Identifier(scheme="progres-individual", value="KKM-25-001234"),
                    Identifier(scheme="opencrvs-registration", value="2025B5WGYJE"),
                ],
            )
        ],
        PSEUDONYMISER,
    )
    with db.transaction() as connection:
        remember(connection, both, {}, recall(connection, both))
    registry_only = write(1, subjects=[pseudonym("opencrvs-registration", "2025B5WGYJE")])

    by_registration = views.subject_history(DPO, "opencrvs-registration", "2025b5wgyje", query())
    by_progres = views.subject_history(DPO, *CHILD, query())

    assert ids(by_registration) == ids(by_progres) == [registry_only.id, first.id]


def test_what_an_older_gateway_recorded_as_spelled_is_found(views: DpoViews, write: Write) -> None:
    """Before normalisation, records held the pseudonym of the identifier as spelled."""
    legacy = write(0, subjects=[PSEUDONYMISER.pseudonym("progres-individual", "kkm-25-001234")])
    assert ids(views.subject_history(DPO, "progres-individual", "kkm-25-001234", query())) == [
        legacy.id
    ]


def test_an_unknown_person_gives_an_empty_page_of_the_same_shape(
    views: DpoViews, write: Write
) -> None:
    write(0, subjects=[pseudonym(*CHILD)])
    page = views.subject_history(DPO, "progres-individual", "KKM-99-999999", query())
    assert page.exchanges == [] and page.next_cursor is None


def test_a_pseudonym_matches_whole_subjects_only(views: DpoViews, write: Write) -> None:
    """`_` is a LIKE wildcard and a pseudonym holds one; a quoted pseudonym is no prefix."""
    child = pseudonym(*CHILD)
    write(0, subjects=["psX" + child[3:]])  # would match `ps_…` if `_` were a wildcard
    write(1, subjects=[child + "0"])  # would match if the closing quote were not asked for
    write(2, subjects=["0" + child])
    assert views.subject_history(DPO, *CHILD, query()).exchanges == []


def test_a_persons_history_takes_the_listings_filters_and_pages(
    views: DpoViews, write: Write
) -> None:
    child = pseudonym(*CHILD)
    about = [
        write(n, subjects=[child], decision="denied" if n == 2 else "allowed") for n in range(4)
    ]
    page = views.subject_history(DPO, *CHILD, query(limit=2))
    assert ids(page) == [about[3].id, about[2].id]
    rest = views.subject_history(DPO, *CHILD, query(limit=2, cursor=page.next_cursor))
    assert ids(rest) == [about[1].id, about[0].id] and rest.next_cursor is None
    assert ids(views.subject_history(DPO, *CHILD, query(decision="denied"))) == [about[2].id]


@pytest.mark.parametrize(
    ("scheme", "value"),
    [
        ("progres-individual", "KKM\x1b[2J-25"),  # a terminal escape
        ("progres-individual", "---"),  # nothing left once separators go
        ("progres-individual", "K" * 129),
        ("", "KKM-25-001234"),
    ],
)
def test_an_identifier_no_exchange_could_carry_is_refused_unrepeated(
    views: DpoViews, scheme: str, value: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        views.subject_history(DPO, scheme, value, query())
    said = refused.value.message + " ".join(p.location + p.message for p in refused.value.problems)
    error = refused.value
    chained = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
    assert value not in said and value not in str(chained or "")  # a log would show it


# --- the register, the denials, the chart --------------------------------------------------


def test_the_register_has_a_line_per_kind_of_transfer(views: DpoViews, write: Write) -> None:
    write(0)
    write(60, policy_rule=RULE_B)  # the same kind of transfer, under another rule
    write(120, categories=["identity"])  # other data: another line
    write(
        180,
        destination="embassy-ssd",
        destination_jurisdiction="SSD",
        agreement="mou-2026-04",
        purpose="family-reunification",
    )
    write(240, decision="denied", reasons=["consent.missing"])  # not a transfer
    write(300, decision="invalid", reasons=["invalid_message"], destination=None)

    register = views.register(DPO)

    assert [(e.recipient, e.data_categories, e.count) for e in register] == [
        ("crvs-national", ["birth", "identity"], 2),
        ("crvs-national", ["identity"], 1),
        ("embassy-ssd", ["birth", "identity"], 1),
    ]
    first = register[0]
    assert first.rules == sorted([RULE_A, RULE_B])
    assert (first.first_transfer, first.last_transfer) == (START, START + dt.timedelta(hours=1))
    assert first.third_country is None and first.recipient_jurisdiction == "KEN"
    assert first.controller == "UNHCR Kenya" and "730 days" in first.retention
    embassy = register[2]
    assert (embassy.third_country, embassy.agreement, embassy.purpose) == (
        "SSD",
        "mou-2026-04",
        "family-reunification",
    )
    later = views.register(DPO, since=START + dt.timedelta(minutes=30))
    assert [(e.data_categories, e.count, e.rules) for e in later][0] == (
        ["birth", "identity"],
        1,
        [RULE_B],
    )
    assert views.register(DPO, until=START) == []


def test_denials_are_counted_by_reason_and_recipient(views: DpoViews, write: Write) -> None:
    write(0)
    risk = write(1, destination="embassy-ssd", decision="denied", reasons=["origin.risk_country"])
    both = write(
        2,
        destination="embassy-ssd",
        decision="denied",
        reasons=["origin.risk_country", "consent.missing"],
    )
    consent = write(3, decision="denied", reasons=["consent.missing"])

    report = views.denials(DPO, limit=2)

    assert report.total == 3
    assert [(c.reason, c.count) for c in report.by_reason] == [
        ("consent.missing", 2),
        ("origin.risk_country", 2),
    ]
    assert report.by_reason[1].words.startswith("the destination is controlled by a state")
    assert [(c.recipient, c.count) for c in report.by_recipient] == [
        ("embassy-ssd", 2),
        ("crvs-national", 1),
    ]
    assert [e.exchange_id for e in report.recent] == [consent.id, both.id]
    assert views.denials(DPO, since=START + dt.timedelta(minutes=2)).total == 2
    assert [
        e.exchange_id for e in views.denials(DPO, until=START + dt.timedelta(minutes=2)).recent
    ] == [risk.id]


def test_transfers_are_counted_per_recipient_and_utc_day_or_week(
    views: DpoViews, write: Write
) -> None:
    monday = START.date()
    write(0)
    write(60)
    write(0, destination="embassy-ssd")
    # 23:30 at UTC-3 on Tuesday is Wednesday in UTC: counted on Wednesday.
    late = dt.datetime.combine(monday + dt.timedelta(days=1), dt.time(23, 30))
    at = late.replace(tzinfo=dt.timezone(dt.timedelta(hours=-3)))
    write((at - START).total_seconds() / 60)
    write(7 * 24 * 60)  # the Monday after
    write(30, decision="denied", reasons=["consent.missing"])  # not a transfer

    daily = [(c.bucket_start, c.recipient, c.count) for c in views.transfers_per_recipient(DPO)]
    weekly = views.transfers_per_recipient(DPO, bucket="week")

    assert daily == [
        (monday, "crvs-national", 2),
        (monday, "embassy-ssd", 1),
        (monday + dt.timedelta(days=2), "crvs-national", 1),
        (monday + dt.timedelta(days=7), "crvs-national", 1),
    ]
    assert [(c.bucket_start, c.recipient, c.count) for c in weekly] == [
        (monday, "crvs-national", 3),
        (monday, "embassy-ssd", 1),
        (monday + dt.timedelta(days=7), "crvs-national", 1),
    ]
    window = views.transfers_per_recipient(
        DPO, since=START + dt.timedelta(days=1), until=START + dt.timedelta(days=7)
    )
    assert [(c.bucket_start, c.count) for c in window] == [(monday + dt.timedelta(days=2), 1)]


# --- the FHIR export's edge cases ----------------------------------------------------------


def test_audit_events_say_less_rather_than_something_untrue(views: DpoViews, write: Write) -> None:
    """A dead letter is a failed disclosure; a person without an identifier has no pseudonym;
    an exchange with no subject has no patient; an invalid attempt disclosed nothing."""
    write(0)
    base = views.exchanges(DPO, query()).exchanges[0]
    dead = base.model_copy(
        update={
            "subjects": ["unidentified"],
            "delivery": Delivery("dead", 12, "503 from the destination", None, None),
        }
    )
    nobody = base.model_copy(update={"exchange_id": str(uuid.uuid4()), "subjects": []})
    invalid = base.model_copy(update={"exchange_id": str(uuid.uuid4()), "decision": "invalid"})

    bundle = audit_bundle([dead, nobody, invalid], operator="UNHCR Kenya", now=START)

    Bundle.model_validate(bundle)
    events = [entry["resource"] for entry in bundle["entry"]]
    assert len(events) == 2  # the invalid attempt is left out
    assert (events[0]["outcome"], events[0]["outcomeDesc"]) == (
        "8",
        "allowed, but delivery was given up after 12 attempts",
    )
    patient = events[0]["entity"][0]
    assert "identifier" not in patient["what"] and patient["what"]["type"] == "Patient"
    assert [e["type"]["code"] for e in events[1]["entity"]] == ["2"]  # the data, no patient
    assert "link" not in bundle
