"""An answer means committed, on every route and both databases; reads of any mix succeed.

These were broken under attack: the administrator's routes committed in a dependency that
FastAPI closes after the answer is sent, so a birth sent right after a consent withdrawal's 200
could still go out (PostgreSQL), and on SQLite the writers' turn was taken in one worker thread
and given back in another, so concurrent reads failed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from gateway.demo.flow import (
    BIRTH_CATEGORIES,
    CIVIL_REGISTRY,
    EMBASSY,
    REGISTRATION,
    DemoEnvironment,
    birth_notification,
)
from gateway.demo.server import ServedGateway
from gateway.store.models import ExchangeRecord, OutboxMessage, System
from tests.api.helpers import BODY_LIMIT, admin_headers, system_headers
from tests.fixtures.network import connect as raw_connection
from tests.fixtures.network import read_answer

WITHDRAWAL_TRIALS = 100


def family_of(trial: int) -> tuple[bytes, list[str]]:
    """Return the demo birth with individual ids of its own, and those ids."""
    doc = json.loads(birth_notification())
    ids = []
    for individual in doc["individuals"]:
        individual["progres_individualid"] += f"-T{trial}"
        ids.append(individual["progres_individualid"])
    return json.dumps(doc).encode(), ids


def grant(client: httpx.Client, subject: str) -> str:
    answer = client.post(
        "/consents",
        json={
            "subject": {"scheme": "progres-individual", "value": subject},
            "recipient": CIVIL_REGISTRY,
            "purpose": "birth-registration",
            "categories": sorted(BIRTH_CATEGORIES),
        },
    )
    assert answer.status_code == 201, answer.text
    consent_id: str = answer.json()["id"]
    return consent_id


def test_a_birth_sent_right_after_a_withdrawal_is_denied_every_time(
    env: DemoEnvironment, served: ServedGateway, request: pytest.FixtureRequest
) -> None:
    admin = httpx.Client(base_url=served.url, headers=admin_headers(served.runtime))
    sender = httpx.Client(base_url=served.url)
    request.addfinalizer(admin.close)
    request.addfinalizer(sender.close)
    body, first = family_of(0)
    for subject in first:
        grant(admin, subject)
    assert env.submit_birth(CIVIL_REGISTRY, body=body).status_code == 202  # consent works

    outcomes = []
    for trial in range(1, WITHDRAWAL_TRIALS + 1):
        body, ids = family_of(trial)
        consent_ids = [grant(admin, subject) for subject in ids]
        withdrawn = admin.post(f"/consents/{consent_ids[0]}/withdraw")
        assert withdrawn.status_code == 200, withdrawn.text
        sent = sender.post(  # right after the answer, on a connection already open
            "/exchanges", content=body, headers=env.birth_headers(CIVIL_REGISTRY)
        )
        outcomes.append((sent.status_code, sent.json().get("reasons")))

    assert outcomes == [(403, ["consent.withdrawn"])] * WITHDRAWAL_TRIALS
    with served.runtime.db.reading() as session:
        queued = session.scalar(select(func.count()).select_from(OutboxMessage))
    assert queued == 1  # only the birth sent before any withdrawal


def test_one_of_many_concurrent_registrations_of_an_id_wins_and_its_credential_works(
    served: ServedGateway,
) -> None:
    def register(system_id: str) -> httpx.Response:
        spec = {"id": system_id, "name": "A registry", "adapter": "opencrvs"}
        return httpx.post(f"{served.url}/systems", json=spec, headers=admin_headers(served.runtime))

    for round_ in range(5):
        system_id = f"twin-registry-{round_}"
        with ThreadPoolExecutor(20) as clients:
            answers = list(clients.map(register, [system_id] * 20))

        assert sorted(a.status_code for a in answers) == [201] + [409] * 19
        [created] = [a for a in answers if a.status_code == 201]
        credential = created.json()["credential"]
        assert served.runtime.directory.authenticate(credential).id == system_id


def test_an_old_credential_stops_working_as_soon_as_the_rotation_answers(
    env: DemoEnvironment, served: ServedGateway, request: pytest.FixtureRequest
) -> None:
    admin = httpx.Client(base_url=served.url, headers=admin_headers(served.runtime))
    request.addfinalizer(admin.close)
    for _ in range(20):
        old = env.credentials[REGISTRATION]
        rotated = admin.post(f"/systems/{REGISTRATION}/credential")
        assert rotated.status_code == 200, rotated.text
        env.credentials[REGISTRATION] = rotated.json()["credential"]
        with_old = httpx.get(
            f"{served.url}/exchanges/{'0' * 8}-0000-0000-0000-{'0' * 12}",
            headers={"Authorization": f"Bearer {old}"},
        )
        assert with_old.status_code == 401


def test_concurrent_reads_and_writes_of_any_mix_succeed(
    env: DemoEnvironment, served: ServedGateway
) -> None:
    """20 clients x 20 requests: health, status reads, admin reads and writes, exchanges."""
    accepted = env.submit_birth(CIVIL_REGISTRY).json()["exchange_id"]
    admin = admin_headers(served.runtime)

    def client(number: int) -> list[int]:
        statuses = []
        with httpx.Client(base_url=served.url, timeout=30) as http:
            for i in range(20):
                kind = (number + i) % 5
                if kind == 0:
                    answer = http.get("/health")
                elif kind == 1:
                    answer = http.get(f"/exchanges/{accepted}", headers=admin)
                elif kind == 2:
                    answer = http.get("/systems", headers=admin)
                elif kind == 3:
                    answer = http.post(
                        "/consents",
                        headers=admin,
                        json={
                            "subject": {"scheme": "progres-individual", "value": f"C-{number}-{i}"},
                            "recipient": CIVIL_REGISTRY,
                            "purpose": "birth-registration",
                            "categories": ["identity"],
                        },
                    )
                else:
                    answer = http.post(
                        "/exchanges",
                        content=birth_notification(),
                        headers=env.birth_headers(CIVIL_REGISTRY),
                    )
                statuses.append(answer.status_code)
        return statuses

    with ThreadPoolExecutor(20) as clients:
        seen = [s for statuses in clients.map(client, range(20)) for s in statuses]

    assert len(seen) == 400
    assert {s for s in seen} <= {200, 201, 202}


def test_only_reads_and_health_from_many_clients_all_succeed(served: ServedGateway) -> None:
    def client(_: int) -> list[int]:
        with httpx.Client(base_url=served.url, timeout=30) as http:
            return [http.get("/health").status_code for _ in range(20)]

    with ThreadPoolExecutor(20) as clients:
        seen = [s for statuses in clients.map(client, range(20)) for s in statuses]
    assert seen == [200] * 400


@pytest.mark.parametrize(
    "path",
    [
        "/exchanges/%00",
        "/exchanges/not-an-id",
        f"/exchanges/{'a' * 5000}",
        "/systems/%00",
        "/systems/crvs%00national",
        "/systems/%00/credential",
        "/consents/%00",
        "/consents/%00/withdraw",
    ],
)
def test_a_path_id_no_row_can_have_is_not_found(served: ServedGateway, path: str) -> None:
    method = "POST" if path.endswith(("/credential", "/withdraw")) else "GET"
    answer = httpx.request(method, served.url + path, headers=admin_headers(served.runtime))
    assert answer.status_code == 404, answer.text
    assert answer.json()["reason"] == "not_found"


def test_a_denied_exchange_is_read_by_its_source_and_the_administrator_only(
    env: DemoEnvironment, served: ServedGateway
) -> None:
    denied = env.submit_birth(EMBASSY)
    assert denied.status_code == 403
    path = f"{served.url}/exchanges/{denied.json()['exchange_id']}"

    assert httpx.get(path, headers=system_headers(env, REGISTRATION)).status_code == 200
    assert httpx.get(path, headers=admin_headers(served.runtime)).status_code == 200
    assert httpx.get(path, headers=system_headers(env, EMBASSY)).status_code == 404


def test_an_allowed_exchange_is_read_by_its_destination(
    env: DemoEnvironment, served: ServedGateway
) -> None:
    accepted = env.submit_birth(CIVIL_REGISTRY)
    path = f"{served.url}/exchanges/{accepted.json()['exchange_id']}"
    assert httpx.get(path, headers=system_headers(env, CIVIL_REGISTRY)).status_code == 200


def test_every_racer_on_one_key_leaves_exactly_one_record_or_is_the_replay(
    env: DemoEnvironment, served: ServedGateway
) -> None:
    """Submissions race on one key, half with another body: each conflict is recorded."""
    other = birth_notification().replace(b"Kakuma 4", b"Kakuma 3")
    bodies = [birth_notification(), other] * 8

    def send(body: bytes) -> httpx.Response:
        return env.submit_birth(CIVIL_REGISTRY, key="raced-key-0001", body=body)

    with ThreadPoolExecutor(len(bodies)) as clients:
        answers = list(clients.map(send, bodies))

    ids: list[Any] = [a.json().get("exchange_id") for a in answers]
    assert None not in ids, [a.text for a in answers]
    conflicts = [a for a in answers if a.status_code == 409]
    winners = {a.json()["exchange_id"] for a in answers if a.status_code in (200, 202)}
    assert len(winners) == 1
    assert len(conflicts) + sum(a.status_code in (200, 202) for a in answers) == len(bodies)
    with served.runtime.db.reading() as session:
        recorded = set(session.scalars(select(ExchangeRecord.id)).all())
    assert {a.json()["exchange_id"] for a in conflicts} <= recorded
    assert winners <= recorded


def streamed_json(size: int) -> Iterator[bytes]:
    """A JSON object of about `size` bytes, sent chunked (no Content-Length)."""
    yield b'{"id": "big-registry", "name": "'
    for _ in range(size // 1024):
        yield b"x" * 1024
    yield b'", "adapter": "opencrvs"}'


@pytest.mark.parametrize("path", ["/systems", "/consents"])
def test_an_oversized_administration_body_is_refused_before_it_is_parsed(
    served: ServedGateway, path: str
) -> None:
    answer = httpx.post(
        f"{served.url}{path}",
        content=b"".join(streamed_json(BODY_LIMIT * 4)),
        headers={**admin_headers(served.runtime), "Content-Type": "application/json"},
    )

    assert answer.status_code == 413, answer.text
    assert answer.json()["reason"] == "payload_too_large"
    assert answer.headers["connection"] == "close"  # declared too long: none of it was read
    with served.runtime.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(System)) == 0


@pytest.mark.parametrize("path", ["/systems", "/consents"])
def test_a_chunked_body_over_the_limit_is_refused_while_it_is_still_coming(
    served: ServedGateway, path: str
) -> None:
    """Chunks past the limit, the body's end never sent: 413, and the connection closed.

    The end is held back so the server cannot have read the whole body, whatever the load
    (a body that did arrive whole may rightly keep its connection).
    """
    token = served.runtime.settings.resolved_admin_token()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer {token}\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in streamed_json(BODY_LIMIT * 4))
    with raw_connection(served.url) as sock:
        sock.sendall(head.encode() + chunks)  # no last chunk: the body never ends
        status, headers, body = read_answer(sock)
    assert status == 413
    assert json.loads(body)["reason"] == "payload_too_large"
    assert headers["connection"] == "close"
    with served.runtime.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(System)) == 0
