"""Failed authentications are limited per client address (gateway/api/throttle.py).

A caller could fail 8,000 times in 14 s, each failure a durable record. Now an address that
fails `auth_failure_limit` times within the window is answered 429 for every request, which
is neither read nor recorded; other addresses go on as before.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from gateway.api.throttle import FailedAuthentications
from gateway.config import Settings
from gateway.demo.flow import CIVIL_REGISTRY, DemoEnvironment, birth_notification
from gateway.store.models import ExchangeRecord

LIMIT = 5


@pytest.fixture
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    """The API tests' settings with a limit of five failures, and what a parameter adds."""
    return settings.model_copy(
        update={"auth_failure_limit": LIMIT, **getattr(request, "param", {})}
    )


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_address_is_refused_until_its_oldest_failure_leaves_the_window() -> None:
    clock = Clock()
    failures = FailedAuthentications(limit=3, window=60, max_addresses=10, clock=clock)
    for _ in range(2):
        failures.failed("192.0.2.1")
        clock.now += 10
    assert failures.retry_after("192.0.2.1") is None  # two failures: under the limit
    failures.failed("192.0.2.1")  # the third, at 1020; the first was at 1000
    assert failures.retry_after("192.0.2.1") == 40
    assert failures.retry_after("192.0.2.2") is None
    clock.now = 1060
    assert failures.retry_after("192.0.2.1") is None


def test_memory_is_bounded_and_the_least_recent_failure_forgotten_first() -> None:
    clock = Clock()
    failures = FailedAuthentications(limit=1, window=60, max_addresses=3, clock=clock)
    for address in ("192.0.2.1", "192.0.2.2", "192.0.2.3"):
        failures.failed(address)
    failures.failed("192.0.2.1")  # failed again: now the most recent
    failures.failed("192.0.2.4")  # one too many: 192.0.2.2 is forgotten
    assert len(failures) == 3
    assert failures.retry_after("192.0.2.2") is None
    for address in ("192.0.2.1", "192.0.2.3", "192.0.2.4"):
        assert failures.retry_after(address) is not None


def records(env: DemoEnvironment) -> int:
    with env.runtime.db.reading() as session:
        return int(session.scalar(select(func.count()).select_from(ExchangeRecord)) or 0)


def submit(
    env: DemoEnvironment,
    client: httpx.Client | None = None,
    credential: str | None = None,
    **extra: str,
) -> httpx.Response:
    """Send the demo birth as proGres (or with `credential`), with `extra` headers."""
    headers = {**env.birth_headers(CIVIL_REGISTRY), **extra}
    if credential is not None:
        headers["Authorization"] = f"Bearer {credential}"
    post = (client or httpx).post
    return post(f"{env.gateway_url}/exchanges", content=birth_notification(), headers=headers)


def fail(env: DemoEnvironment, times: int, **extra: str) -> None:
    for _ in range(times):
        assert submit(env, credential="gw_not-a-credential", **extra).status_code == 401


def assert_refused(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 429, response.text
    assert 1 <= int(response.headers["retry-after"]) <= 60
    body: dict[str, Any] = response.json()
    assert body["reason"] == "too_many_failed_authentications"
    return body


def test_an_address_that_keeps_failing_is_refused_and_nothing_is_recorded(
    env: DemoEnvironment,
) -> None:
    fail(env, LIMIT)
    before = records(env)
    assert before == LIMIT  # each failure is a record: what the limit protects

    assert_refused(submit(env))  # even with a good credential
    assert_refused(submit(env, credential="gw_still-guessing"))
    assert records(env) == before


def test_a_fhir_caller_is_refused_with_an_operation_outcome(env: DemoEnvironment) -> None:
    fail(env, LIMIT)
    response = submit(env, Accept="application/fhir+json")
    assert response.status_code == 429
    assert response.headers["content-type"] == "application/fhir+json"
    (issue,) = response.json()["issue"]
    assert issue["code"] == "throttled"
    assert issue["details"]["coding"][0]["code"] == "too_many_failed_authentications"


def test_other_addresses_are_served_and_their_successes_reset_nothing(
    env: DemoEnvironment,
) -> None:
    """All of 127.0.0.0/8 is this host: a client bound to 127.0.0.2 is another address."""
    fail(env, LIMIT)
    with httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2")) as other:
        assert submit(env, other).status_code == 202
    assert_refused(submit(env))


def test_x_forwarded_for_does_not_choose_the_address_counted(env: DemoEnvironment) -> None:
    """uvicorn trusts X-Forwarded-For from 127.0.0.1 by default; the gateway does not."""
    for n in range(LIMIT):
        fail(env, 1, **{"X-Forwarded-For": f"198.51.100.{n}"})
    assert_refused(submit(env, **{"X-Forwarded-For": "198.51.100.99"}))


@pytest.mark.parametrize("settings", [{"http_trusted_proxies": "127.0.0.1"}], indirect=True)
def test_a_trusted_proxy_names_the_client_counted(env: DemoEnvironment) -> None:
    fail(env, LIMIT, **{"X-Forwarded-For": "198.51.100.7"})
    assert_refused(submit(env, **{"X-Forwarded-For": "198.51.100.7"}))
    assert submit(env, **{"X-Forwarded-For": "198.51.100.8"}).status_code == 202
