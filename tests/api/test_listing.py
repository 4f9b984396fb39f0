"""The administrator's listing of recent exchanges: filters, pages, who may list, bad input."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest

from gateway.demo.flow import CIVIL_REGISTRY, EMBASSY, REGISTRATION, DemoEnvironment
from gateway.demo.server import ServedGateway
from tests.api.helpers import admin_headers, system_headers


def listing(served: ServedGateway, **query: Any) -> httpx.Response:
    return httpx.get(f"{served.url}/exchanges", params=query, headers=admin_headers(served.runtime))


@pytest.fixture
def three(env: DemoEnvironment) -> list[str]:
    """Two births accepted for the civil registry and one denied for the embassy, in order."""
    ids = []
    for destination in (CIVIL_REGISTRY, EMBASSY, CIVIL_REGISTRY):
        answer = env.submit_birth(destination)
        assert answer.status_code in (202, 403)
        ids.append(answer.json()["exchange_id"])
    return ids


def test_newest_first_with_metadata_and_delivery(served: ServedGateway, three: list[str]) -> None:
    answer = listing(served)
    assert answer.status_code == 200
    page = answer.json()
    assert [e["exchange_id"] for e in page["exchanges"]] == three[::-1]
    assert page["next_cursor"] is None
    newest = page["exchanges"][0]
    assert newest["source"] == REGISTRATION and newest["decision"] == "allowed"
    assert newest["delivery"]["status"] == "pending"  # the relay is off in these tests
    assert page["exchanges"][1]["delivery"] is None  # denied: nothing was queued


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"decision": "denied"}, [1]),
        ({"destination": CIVIL_REGISTRY}, [2, 0]),
        ({"destination": CIVIL_REGISTRY, "decision": "denied"}, []),
        ({"source": REGISTRATION, "message_type": "birth-notification"}, [2, 1, 0]),
        ({"delivery": "pending"}, [2, 0]),
        ({"delivery": "dead"}, []),
        ({"source": CIVIL_REGISTRY}, []),
    ],
)
def test_filters_all_match(
    served: ServedGateway, three: list[str], query: dict[str, str], expected: list[int]
) -> None:
    answer = listing(served, **query)
    assert answer.status_code == 200, answer.text
    assert [e["exchange_id"] for e in answer.json()["exchanges"]] == [three[i] for i in expected]


def test_time_window(served: ServedGateway, three: list[str]) -> None:
    now = dt.datetime.now(dt.UTC)
    later, earlier = now + dt.timedelta(hours=1), now - dt.timedelta(hours=1)
    assert len(listing(served, since=earlier.isoformat()).json()["exchanges"]) == 3
    assert listing(served, since=later.isoformat()).json()["exchanges"] == []
    assert listing(served, until=earlier.isoformat()).json()["exchanges"] == []


def test_pages_walk_every_exchange_once(served: ServedGateway, three: list[str]) -> None:
    seen, cursor = [], None
    while True:
        page = listing(served, limit=2, **({"cursor": cursor} if cursor else {})).json()
        seen += [e["exchange_id"] for e in page["exchanges"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == three[::-1]


def test_only_the_administrator_lists(
    served: ServedGateway, env: DemoEnvironment, three: list[str]
) -> None:
    as_system = httpx.get(f"{served.url}/exchanges", headers=system_headers(env, REGISTRATION))
    assert as_system.status_code == 403
    assert httpx.get(f"{served.url}/exchanges").status_code == 401


@pytest.mark.parametrize(
    "query",
    [
        {"decision": "maybe"},
        {"delivery": "lost"},
        {"limit": "0"},
        {"limit": "501"},
        {"limit": "many"},
        {"cursor": "-1"},
        {"cursor": "9" * 40},
        {"cursor": "' or 1=1 --"},
        {"since": "yesterday"},
        {"since": "2026-01-01T00:00:00"},  # no time zone: which day is meant?
        {"until": "0.5"},  # not read as a Unix time
        {"since": "1764547200"},
        {"source": "A" * 65},
        {"source": "x\x00y"},
        {"subject": "KKM-26-000001"},  # not a filter here: nobody browses people
    ],
)
def test_bad_filters_are_refused_and_named(
    served: ServedGateway, env: DemoEnvironment, query: dict[str, str]
) -> None:
    answer = listing(served, **query)
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["reason"] == "invalid_input"
    name = next(iter(query))
    assert any(name in p["location"] for p in body["problems"]), body


@pytest.mark.parametrize(
    "query", ["limit=1&limit=2", "decision=denied&decision=allowed", "cursor=&cursor=5"]
)
def test_a_repeated_parameter_is_refused_not_guessed(
    served: ServedGateway, env: DemoEnvironment, query: str
) -> None:
    answer = httpx.get(f"{served.url}/exchanges?{query}", headers=admin_headers(served.runtime))
    assert answer.status_code == 400
    assert answer.json()["reason"] == "duplicate_parameter"
    assert answer.json()["problems"][0]["location"] == f"query.{query.split('=')[0]}"
