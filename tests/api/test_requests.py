"""Inter-state specific requests over HTTP: decided before the registry is asked, decided
again on its answer, and every denial one answer (neither confirm nor deny).

The registry is a real HTTP server on 127.0.0.1 that counts the lookups it is asked
(tests/requests/registry.py); the policy is the shipped one with specific requests enabled
(tests/requests/policy.py). Requesters: Uganda's refugee directorate (`uga-dra`), and South
Sudan's immigration directorate (`ssd-dnpi`), the country of origin of some refugees.
"""

from __future__ import annotations

import json
import logging
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from gateway import systems
from gateway.audit.repository import stored
from gateway.config import Settings
from gateway.demo.flow import wait_for
from gateway.demo.server import ServedGateway
from gateway.requests.limits import TokenBuckets
from gateway.runtime import Runtime
from gateway.store.models import ExchangeRecord
from gateway.systems import SystemSpec
from tests.api.helpers import BODY_LIMIT
from tests.api.test_openapi import Answer, Conformance
from tests.fixtures.network import connect, read_answer
from tests.requests.policy import AGREEMENT, EXPIRED, request_policy
from tests.requests.registry import (
    BURUNDIAN,
    CHILD,
    SOUTH_SUDANESE,
    UNREGISTERED,
    StandInRegistry,
)

REGISTRY, UGANDA, SOUTH_SUDAN = "unhcr-progres", "uga-dra", "ssd-dnpi"
FLOOR = 0.8
JUSTIFICATION = (
    "The applicant lodged an asylum claim in Kampala on 3 March 2026 and states that she was "
    "recognised as a refugee in Kakuma in 2019; to decide which state examines her claim we "
    "need to confirm her identity and the status she holds there."
)
GENERIC = {"reason": "denied", "reasons": ["request.denied"]}


@pytest.fixture
def settings(settings: Settings, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    """A denial floor of 0.8 s, the registry given 0.7 s, and a rate no test reaches."""
    return settings.model_copy(
        update={
            "policy_dir": request_policy(tmp_path / "policy"),
            "request_denial_floor_seconds": FLOOR,
            "request_fetch_timeout_seconds": 0.7,
            "request_rate_per_minute": 6000,
            "request_burst": 1000,
            **getattr(request, "param", {}),
        }
    )


@pytest.fixture
def registry() -> Iterator[StandInRegistry]:
    standin = StandInRegistry().start()
    yield standin
    standin.stop()


@dataclass
class Parties:
    """The served gateway, the registry behind it, and the requesters' credentials."""

    url: str
    runtime: Runtime
    registry: StandInRegistry
    credentials: dict[str, str]
    client: httpx.Client  # one for the test: a client costs more to make than a request

    def ask(self, by: str = UGANDA, **changes: Any) -> httpx.Response:
        """Send `by`'s request: the example body with `changes`."""
        headers = {"Authorization": f"Bearer {self.credentials[by]}"}
        return self.client.post(f"{self.url}/requests", json=body(**changes), headers=headers)

    def record(self, exchange_id: str) -> ExchangeRecord:
        with self.runtime.db.reading() as session:
            found = stored(session, exchange_id)
        assert found is not None, "every request leaves its record"
        return found

    def records(self) -> int:
        with self.runtime.db.reading() as session:
            return int(session.scalar(select(func.count()).select_from(ExchangeRecord)) or 0)


@pytest.fixture
def parties(served: ServedGateway, registry: StandInRegistry) -> Iterator[Parties]:
    specs = [
        SystemSpec(
            id=REGISTRY,
            name="proGres",
            adapter="progres",
            endpoint=registry.url,
            jurisdiction="UNO",
        ),
        SystemSpec(id=UGANDA, name="Uganda DRA", adapter="opencrvs", jurisdiction="UGA"),
        SystemSpec(id=SOUTH_SUDAN, name="South Sudan DNPI", adapter="opencrvs", jurisdiction="SSD"),
    ]
    runtime = served.runtime
    with runtime.db.unit_of_work() as session:
        credentials = {s.id: systems.register(session, s, runtime.sealer)[1] for s in specs}
    with httpx.Client(timeout=30) as client:
        parties = Parties(served.url, runtime, registry, credentials, client)
        # Warmed up: a new gateway's first decision and lookup are slow, and on a loaded
        # machine may miss the fetch deadline. Their lookups, even late, do not count, and
        # the test starts with full buckets.
        warming: set[str] = set()

        def warm() -> bool:
            answer = parties.ask(SOUTH_SUDAN, person=BURUNDIAN)
            warming.add(answer.headers["X-Exchange-Id"])
            return answer.status_code == 200

        assert wait_for(warm, seconds=30)
        registry.ignore(warming)
        settings = runtime.settings
        runtime.requests.limits = TokenBuckets(
            settings.request_rate_per_minute, settings.request_burst
        )
        yield parties


def body(person: str = BURUNDIAN, **changes: Any) -> dict[str, Any]:
    """A request for one person, as Uganda's directorate would write it."""
    return {
        "registry": REGISTRY,
        "subject": {"identifiers": [{"scheme": "progres-individual", "value": person}]},
        "purpose": "asylum-procedure",
        "legal_basis": "public-interest",
        "agreement": AGREEMENT,
        "categories": ["identity", "identifiers", "legal_status"],
        "case_reference": "UGA-DRA-2026-00412",
        "justification": JUSTIFICATION,
        **changes,
    }


def denied(answer: httpx.Response) -> None:
    assert answer.status_code == 403, answer.text
    assert {k: answer.json()[k] for k in GENERIC} == GENERIC


# --- answered -------------------------------------------------------------------------------


def test_an_allowed_request_is_answered_from_one_lookup_minimised_and_recorded(
    parties: Parties,
) -> None:
    answer = parties.ask()

    assert answer.status_code == 200, answer.text
    answered = answer.json()
    exchange_id = answer.headers["X-Exchange-Id"]
    assert answered["exchange_id"] == exchange_id
    assert answered["case_reference"] == "UGA-DRA-2026-00412"
    assert answered["categories"] == ["identifiers", "identity", "legal_status"]
    person = answered["person"]
    assert person["names"] == [{"given": ["Aline"], "family": "Niyonzima"}]
    assert person["legal_status"] == "refugee"
    assert person["identifiers"] == [{"scheme": "progres-individual", "value": BURUNDIAN}]
    # Not asked for, so not sent: nationality, specific needs.
    assert not {"nationalities", "country_of_origin", "specific_needs"} & set(person)
    assert parties.registry.hits == 1
    [lookup] = [a for a in parties.registry.asked if a.headers["X-Exchange-Id"] == exchange_id]
    assert lookup.body == {"IndividualId": BURUNDIAN}
    assert lookup.headers["X-Exchange-Id"] == exchange_id
    record = parties.record(exchange_id)
    assert (record.source, record.destination, record.decision) == (REGISTRY, UGANDA, "allowed")
    assert (record.message_type, record.purpose) == ("specific-request", "asylum-procedure")
    assert record.categories == ["identifiers", "identity", "legal_status"]
    assert record.agreement == f"{AGREEMENT}@v1"
    assert len(record.subjects) == 1 and record.subjects[0].startswith("ps_")
    assert BURUNDIAN not in str(record.subjects)
    headers = {"Authorization": f"Bearer {parties.credentials[UGANDA]}"}
    status = parties.client.get(f"{parties.url}/exchanges/{exchange_id}", headers=headers)
    assert status.status_code == 200  # its destination reads an exchange allowed to it


def test_consent_lets_a_request_under_the_consent_basis_through(parties: Parties) -> None:
    reunification = {
        "purpose": "family-reunification",
        "legal_basis": "consent",
        "categories": ["identity", "family"],
    }
    denied(parties.ask(**reunification))
    assert parties.registry.hits == 0  # no consent on file: refused before the registry
    admin = {"Authorization": f"Bearer {parties.runtime.settings.resolved_admin_token()}"}
    grant = {
        "subject": {"scheme": "progres-individual", "value": BURUNDIAN},
        "recipient": UGANDA,
        "purpose": "family-reunification",
        "categories": ["identity", "family"],
    }
    granted = parties.client.post(f"{parties.url}/consents", json=grant, headers=admin)
    consent = f"{parties.url}/consents/{granted.json()['id']}"

    answer = parties.ask(**reunification)

    assert answer.status_code == 200, answer.text
    assert answer.json()["categories"] == ["identity"]  # the record holds no family links
    assert parties.registry.hits == 1
    assert parties.client.get(consent, headers=admin).json()["exchanges"] == 1  # relied on
    assert parties.client.post(f"{consent}/withdraw", headers=admin).status_code == 200
    withdrawn = parties.ask(**reunification)
    denied(withdrawn)
    assert parties.record(withdrawn.headers["X-Exchange-Id"]).reasons == ["consent.withdrawn"]
    assert parties.registry.hits == 1


# --- denied, and by what ------------------------------------------------------------------


REFUSED_BY_POLICY = [
    ({"agreement": "no-such-agreement"}, "agreement.unknown"),
    ({"agreement": EXPIRED}, "agreement.inactive"),
    ({"categories": ["identity", "specific_needs"]}, "request.categories"),
    ({"purpose": "border-control"}, "rules.no_match"),
    ({"legal_basis": "consent", "purpose": "family-reunification"}, "consent.missing"),
]


def test_a_request_the_policy_refuses_asks_the_registry_nothing(parties: Parties) -> None:
    """One gateway for every case: each would cost a start-up of its own."""
    for changes, reason in REFUSED_BY_POLICY:
        answer = parties.ask(**changes)

        denied(answer)
        record = parties.record(answer.headers["X-Exchange-Id"])
        assert (record.decision, record.reasons) == ("denied", [reason]), changes
    assert parties.registry.hits == 0


def test_the_requesting_state_as_a_nationality_denies_after_the_fetch_and_is_remembered(
    parties: Parties,
) -> None:
    first = parties.ask(SOUTH_SUDAN, person=SOUTH_SUDANESE)

    denied(first)
    assert parties.registry.hits == 1  # only the registry's record says she is South Sudanese
    assert parties.record(first.headers["X-Exchange-Id"]).reasons == ["origin.risk_country"]

    again = parties.ask(SOUTH_SUDAN, person=SOUTH_SUDANESE.replace("-", " ").lower())

    denied(again)
    assert parties.registry.hits == 1  # remembered: refused before the registry is asked
    assert parties.record(again.headers["X-Exchange-Id"]).reasons == ["origin.risk_country"]
    assert parties.ask(UGANDA, person=SOUTH_SUDANESE).status_code == 200  # Uganda is no risk


def test_a_person_the_registry_does_not_hold_is_denied_like_any_other(parties: Parties) -> None:
    answer = parties.ask(person=UNREGISTERED)

    denied(answer)
    assert parties.registry.hits == 1
    assert parties.record(answer.headers["X-Exchange-Id"]).reasons == ["request.not_registered"]


def test_a_child_needs_a_best_interests_determination(parties: Parties) -> None:
    refused = parties.ask(person=CHILD)

    denied(refused)
    assert parties.record(refused.headers["X-Exchange-Id"]).reasons == ["children.guardian_consent"]
    assert parties.ask(person=CHILD, best_interests="BID-KKM-2026-0042").status_code == 200


def test_a_registry_that_cannot_be_asked_is_a_denial_too(parties: Parties) -> None:
    parties.registry.status = 503

    answer = parties.ask()

    denied(answer)
    assert parties.record(answer.headers["X-Exchange-Id"]).reasons == ["request.fetch_failed"]


# --- neither confirm nor deny ---------------------------------------------------------------


def test_every_denial_is_the_same_answer(parties: Parties) -> None:
    """Refused by the policy, by the registry's record, by its absence, by an outage."""
    answers = [
        parties.ask(agreement="no-such-agreement"),  # before the fetch
        parties.ask(SOUTH_SUDAN, person=SOUTH_SUDANESE),  # after it: her nationality
        parties.ask(SOUTH_SUDAN, person=SOUTH_SUDANESE),  # before it: remembered
        parties.ask(SOUTH_SUDAN, person=UNREGISTERED),  # no such person
    ]
    parties.registry.status = 503
    answers.append(parties.ask(SOUTH_SUDAN, person=BURUNDIAN))  # the registry is down
    ids = {answer.headers["X-Exchange-Id"] for answer in answers}
    reasons = {tuple(parties.record(exchange_id).reasons) for exchange_id in ids}

    assert len(ids) == len(answers)
    assert len(reasons) == 4  # five denials for four reasons, told only to the record
    assert {a.status_code for a in answers} == {403}
    assert len({a.content for a in answers}) == 1
    assert b"exchange_id" not in answers[0].content
    varying = {"date", "x-exchange-id", "x-road-id"}  # each answer its own (gateway/xroad)
    shapes = {
        tuple(sorted((k, v) for k, v in a.headers.items() if k not in varying)) for a in answers
    }
    assert len(shapes) == 1


TIMED = {
    "request_denial_floor_seconds": 0.2,
    "request_fetch_timeout_seconds": 0.15,
}
SAMPLES = 40
REGISTRY_DELAY = 0.05


def _auc(slower: list[float], faster: list[float]) -> float:
    """The probability that a sample of `slower` exceeds one of `faster` (ties count half):
    the Mann-Whitney U statistic, normalised. 0.5 when the two cannot be told apart."""
    wins = sum((s > f) + 0.5 * (s == f) for s in slower for f in faster)
    return wins / (len(slower) * len(faster))


def _figures(samples: list[float]) -> str:
    deciles = statistics.quantiles(samples, n=10)
    return (
        f"min {min(samples):.3f} p10 {deciles[0]:.3f} median {statistics.median(samples):.3f} "
        f"p90 {deciles[-1]:.3f} max {max(samples):.3f} IQR {_spread(samples):.4f}"
    )


def _spread(samples: list[float]) -> float:
    quartiles = statistics.quantiles(samples, n=4)
    return quartiles[2] - quartiles[0]


@pytest.mark.parametrize("settings", [TIMED], indirect=True)
def test_a_registered_person_refused_and_an_unregistered_one_take_the_same_time(
    parties: Parties, settings: Settings
) -> None:
    """Without the floor they would differ by the registry's 50 ms at least: the refused
    person is refused before the registry is asked, the unregistered one only after it."""

    def remembered() -> bool:  # the first request of a process may miss the 0.15 s deadline
        answer = parties.ask(SOUTH_SUDAN, person=SOUTH_SUDANESE)
        denied(answer)
        return parties.record(answer.headers["X-Exchange-Id"]).reasons == ["origin.risk_country"]

    assert wait_for(remembered, seconds=30)  # from now on refused before any lookup
    parties.registry.delay = REGISTRY_DELAY
    hits = parties.registry.hits
    registered: list[float] = []
    unregistered: list[float] = []
    pair = [(SOUTH_SUDANESE, registered), (UNREGISTERED, unregistered)]
    for turn in range(SAMPLES):  # in turn, on one connection: a pair shares the machine's load
        for person, samples in pair if turn % 2 else pair[::-1]:  # and neither is always first
            started = time.monotonic()
            answer = parties.ask(SOUTH_SUDAN, person=person)
            samples.append(time.monotonic() - started)
            denied(answer)
    # The unregistered person's lookups only, and no more. Under load a lookup can be
    # abandoned at its deadline before it reaches the registry (that too is a refusal after
    # the fetch was tried); most must have reached it, or the comparison says nothing.
    assert wait_for(lambda: parties.registry.hits >= hits + SAMPLES // 2, seconds=10)
    assert parties.registry.hits <= hits + SAMPLES

    floor = settings.request_denial_floor_seconds
    print(f"\nregistered, refused: {_figures(registered)}")  # for the record, with -s
    print(f"unregistered: {_figures(unregistered)}; AUC {_auc(unregistered, registered):.2f}")
    assert min(registered + unregistered) >= floor  # none before the floor
    # Each unregistered sample paid a lookup of 50 ms or more before the floor: told apart,
    # their medians would differ by that much, and nearly every pair would be ordered (1.0).
    assert abs(statistics.median(unregistered) - statistics.median(registered)) < REGISTRY_DELAY / 2
    assert abs(_spread(unregistered) - _spread(registered)) < REGISTRY_DELAY
    # Under the null the statistic is 0.5 with a spread of 0.065 for 40 and 40: 0.2 to 0.8 is
    # more than four of them either way, so a pass by chance is not what keeps this green.
    assert 0.2 < _auc(unregistered, registered) < 0.8


# --- what depends on the request alone -----------------------------------------------------


LONG = "x" * 20
BAD = [
    (
        {"subject": [{"identifiers": [{"scheme": "progres-individual", "value": BURUNDIAN}]}]},
        "request.not_individual",
    ),
    ({"subject": {"identifiers": []}}, "request.not_individual"),
    ({"subject": None}, "request.not_individual"),
    ({"subjects": [{"identifiers": []}, {"identifiers": []}]}, "request.not_individual"),
    (
        {
            "subject": {
                "identifiers": [
                    {"scheme": "progres-individual", "value": BURUNDIAN},
                    {"scheme": "progres-individual", "value": SOUTH_SUDANESE},
                ]
            }
        },
        "request.not_individual",
    ),
    (
        {"subject": {"identifiers": [{"scheme": "progres-individual", "value": "KKM-19-00*"}]}},
        "request.wildcard",
    ),
    (
        {"subject": {"identifiers": [{"scheme": "progres-individual", "value": "KKM-19"}]}},
        "request.identifier",
    ),
    (
        {
            "subject": {
                "identifiers": [{"scheme": "progres-individual", "value": f"{BURUNDIAN},{CHILD}"}]
            }
        },
        "request.not_individual",
    ),
    (
        {"subject": {"identifiers": [{"scheme": "shoe-size", "value": "KKM190045"}]}},
        "request.identifier",
    ),
    (
        {
            "subject": {
                "identifiers": [{"scheme": "progres-individual", "value": BURUNDIAN}],
                "family_name": "Niyonzima",
            }
        },
        "request.criteria",
    ),
    ({"nationality": "BDI", "born_after": "1990-01-01"}, "request.criteria"),
    ({"justification": ""}, "request.justification"),
    ({"justification": "Security check as per agreement, urgent."}, "request.justification"),
    ({"justification": "We need this person's data. " * 4}, "request.justification"),
    ({"agreement": "Not An Agreement"}, "request.invalid"),
    ({"requester": UGANDA}, "request.invalid"),
]


def test_a_request_that_is_not_one_specific_request_is_refused_and_recorded(
    parties: Parties,
) -> None:
    """One gateway for every case: each would cost a start-up of its own."""
    for changes, reason in BAD:
        before = parties.records()

        answer = parties.ask(**changes)

        assert answer.status_code == 422, (changes, answer.text)
        refused = answer.json()
        assert reason in refused["reasons"], (changes, refused)
        assert refused["problems"]
        assert BURUNDIAN not in answer.text and "Niyonzima" not in answer.text  # not echoed
        assert parties.records() == before + 1
        record = parties.record(refused["exchange_id"])
        assert (record.decision, record.destination, record.message_type) == (
            "invalid",
            UGANDA,
            "specific-request",
        )
        assert reason in record.reasons
    assert parties.registry.hits == 0


def test_a_registry_that_answers_no_requests_and_a_stranger_are_refused(parties: Parties) -> None:
    not_a_registry = parties.ask(registry=SOUTH_SUDAN)
    nobody = parties.client.post(f"{parties.url}/requests", json=body())
    duplicated = parties.client.post(
        f"{parties.url}/requests",
        content=b'{"agreement": "a", "agreement": "b"}',
        headers={"Authorization": f"Bearer {parties.credentials[UGANDA]}"},
    )

    assert not_a_registry.status_code == 422
    assert nobody.status_code == 401
    assert duplicated.status_code == 422  # a key written twice is refused, never chosen
    assert parties.record(nobody.json()["exchange_id"]).message_type == "specific-request"
    assert parties.registry.hits == 0


@pytest.mark.parametrize(
    "settings", [{"request_burst": 2, "request_rate_per_minute": 1}], indirect=True
)
def test_a_requesting_system_is_held_to_its_rate(parties: Parties) -> None:
    answers = [parties.ask(agreement="no-such-agreement"), parties.ask()]  # denied or not
    limited = parties.ask()

    assert [a.status_code for a in answers] == [403, 200]
    assert limited.status_code == 429
    assert limited.json()["reason"] == "rate_limited"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert parties.record(limited.json()["exchange_id"]).reasons == ["rate_limited"]
    assert parties.registry.hits == 1
    assert parties.ask(SOUTH_SUDAN, person=UNREGISTERED).status_code == 403  # its own bucket


def test_every_request_leaves_exactly_one_record(parties: Parties) -> None:
    before = parties.records()
    answers = [
        parties.ask(),
        parties.ask(agreement="no-such-agreement"),
        parties.ask(person=UNREGISTERED),
        parties.ask(justification="n/a"),
    ]

    assert [a.status_code for a in answers] == [200, 403, 403, 422]
    assert parties.records() == before + len(answers)


def test_no_log_line_names_the_person(parties: Parties, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    parties.ask()
    parties.ask(SOUTH_SUDAN, person=SOUTH_SUDANESE)
    parties.ask(justification="n/a")
    parties.registry.status = 500
    parties.ask(person=UNREGISTERED)

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "could not be asked" in logged  # the outage is there for the operator
    for personal in (BURUNDIAN, SOUTH_SUDANESE, UNREGISTERED, "Aline", "Nyibol", "Kampala"):
        assert personal not in logged
        assert personal.replace("-", "") not in logged


def test_a_denied_request_is_not_the_requesters_to_read(parties: Parties) -> None:
    answer = parties.ask(person=UNREGISTERED)
    headers = {"Authorization": f"Bearer {parties.credentials[UGANDA]}"}

    status = parties.client.get(
        f"{parties.url}/exchanges/{answer.headers['X-Exchange-Id']}", headers=headers
    )

    assert status.status_code == 404  # as absent as an exchange that never was


# --- as documented ---------------------------------------------------------------------------


def slow_request(parties: Parties) -> Answer:
    """Declare a whole request, send half of it, and wait for the gateway to give up (408)."""
    content = json.dumps(body()).encode()
    headers = {
        "Authorization": f"Bearer {parties.credentials[UGANDA]}",
        "Content-Type": "application/json",
        "Content-Length": str(len(content)),
    }
    lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    with connect(parties.url) as sock:
        sock.sendall(f"POST /requests HTTP/1.1\r\nHost: gateway\r\n{lines}\r\n".encode())
        sock.sendall(content[: len(content) // 2])
        status, answered, received = read_answer(sock)
    return Answer(status, httpx.Headers(answered), received)


@pytest.mark.parametrize(
    "settings",
    [{"http_body_timeout_seconds": 1.0, "request_burst": 9, "request_rate_per_minute": 1}],
    indirect=True,
)
def test_every_answer_is_one_the_document_gives(parties: Parties) -> None:
    """Each documented status provoked, and each answer checked against the document."""
    conformance = Conformance(parties.client.get(f"{parties.url}/openapi.json").json())
    path = "/requests"

    def check(answer: httpx.Response | Answer) -> int:
        return conformance.check("POST", path, answer).status

    own = {"Authorization": f"Bearer {parties.credentials[UGANDA]}"}
    fhir = {**own, "Accept": "application/fhir+json"}
    assert check(parties.ask()) == 200
    assert check(parties.ask(person=UNREGISTERED)) == 403
    assert (
        check(parties.client.post(f"{parties.url}{path}", json=body(UNREGISTERED), headers=fhir))
        == 403
    )
    assert check(parties.ask(justification="urgent")) == 422
    assert check(parties.client.post(f"{parties.url}{path}", json=body())) == 401
    doubled = [*own.items(), *own.items()]
    assert check(parties.client.post(f"{parties.url}{path}", json=body(), headers=doubled)) == 400
    padded = body(justification=JUSTIFICATION + " " * BODY_LIMIT)
    assert check(parties.client.post(f"{parties.url}{path}", json=padded, headers=own)) == 413
    assert check(slow_request(parties)) == 408
    while (answer := parties.ask()).status_code != 429:  # nine at once, then one a minute
        assert answer.status_code == 200
    check(answer)
    assert conformance.unprovoked("POST", path, exempt={"431", "503"}) == set()
