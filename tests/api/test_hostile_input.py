"""Hostile input over HTTP: small answers for huge faults, and no control character let through.

Built as tests/api/test_bad_input.py is (the demo systems, one accepted birth first, each
attempt checked to leave one invalid record and nothing else), but with the gateway's own
1 MiB body limit, so that a body of 340,000 individuals reaches the parser.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from gateway.config import Settings
from gateway.demo.flow import DemoEnvironment
from gateway.errors import COUNT_LIMIT, MAX_PROBLEMS
from gateway.store.models import ConsentRow, System
from tests.api.helpers import admin_headers
from tests.api.test_bad_input import (  # noqa: F401  (first is a fixture)
    NOTIFICATION,
    attempt,
    edited,
    first,
    post,
    rejected,
)

pytestmark = pytest.mark.usefixtures("first")
MOTHER = 1
MIB = 1024 * 1024


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"max_body_bytes": MIB})


def test_340000_empty_individuals_get_a_small_answer(env: DemoEnvironment) -> None:
    body = (
        b'{"progres_dateofbirth": "2025-03-02", "individuals": ['
        + b",".join([b"{}"] * 340_000)
        + b"]}"
    )
    assert 990 * 1024 < len(body) <= MIB

    response, record = attempt(env, lambda: post(env, body))

    assert response.status_code == 422
    assert len(response.content) < 10_000
    answer = response.json()
    assert answer["reason"] == "invalid_message"
    assert answer["exchange_id"] == record["id"]
    assert 0 < len(answer["problems"]) == answer["problem_count"] <= MAX_PROBLEMS
    assert {"location": "/individuals", "message": "violates maxItems 3"} in answer["problems"]


def test_health_answers_while_hostile_bodies_are_read(env: DemoEnvironment) -> None:
    """A large body is read in a worker thread: the loop still answers everyone else.

    How long each wait is, is measured by `python -m bench.hostile_input`, not asserted here.
    """
    body = b'{"individuals": [' + b",".join([b"{}"] * 340_000) + b"]}"
    with ThreadPoolExecutor(4) as clients:
        hostile = [clients.submit(post, env, body) for _ in range(4)]
        health = []
        while not all(h.done() for h in hostile):
            health.append(httpx.get(f"{env.gateway_url}/health", timeout=10).status_code)
        answers = [h.result() for h in hostile]

    assert health and set(health) == {200}
    assert [a.status_code for a in answers] == [422] * 4


FAULTY = b'{"x": [' + b",".join([b'"\\u0001"'] * 100_000) + b"]}"  # 100,000 problems


def test_an_answer_lists_the_first_problems_and_says_the_count_is_a_lower_bound(
    env: DemoEnvironment,
) -> None:
    answer = rejected(env, 422, "invalid_message", FAULTY)

    assert len(answer["problems"]) == MAX_PROBLEMS
    assert answer["problems"][0] == {
        "location": "/x/0",
        "message": "string holds control character U+0001",
    }
    assert answer["problem_count"] == COUNT_LIMIT
    assert answer["problem_count_is_lower_bound"] is True


def test_a_fhir_caller_is_told_how_many_problems_were_left_out(env: DemoEnvironment) -> None:
    response, _ = attempt(env, lambda: post(env, FAULTY, {"Accept": "application/fhir+json"}))

    assert response.status_code == 422
    issues = response.json()["issue"]
    assert len(issues) == MAX_PROBLEMS + 1
    assert all(i["severity"] == "error" for i in issues[:MAX_PROBLEMS])
    assert issues[-1] == {
        "severity": "information",
        "code": "informational",
        "diagnostics": "at least 900 more problems were not listed (counting stopped)",
    }


# One of each kind: C0 (escaped as \uXXXX, or as \b and \f), DEL, C1, bidirectional controls
# (raw, as JSON allows them, or escaped).
CONTROLS = {
    "nul": ("\\u0000", "U+0000"),
    "bell": ("\\u0007", "U+0007"),
    "backspace": ("\\b", "U+0008"),
    "form-feed": ("\\f", "U+000C"),
    "escape": ("\\u001b[2J", "U+001B"),
    "delete": ("\x7f", "U+007F"),
    "c1-next-line": ("\u0085", "U+0085"),
    "c1-csi": ("\\u009b", "U+009B"),
    "right-to-left-override": ("\u202e", "U+202E"),
    "left-to-right-isolate": ("\\u2066", "U+2066"),
}


@pytest.mark.parametrize(("written", "code"), CONTROLS.values(), ids=CONTROLS.keys())
def test_a_control_character_in_a_name_is_refused_where_it_is(
    env: DemoEnvironment, written: str, code: str
) -> None:
    text = NOTIFICATION.decode()
    assert text.count('"Achol"') == 1  # the mother's given name
    body = text.replace('"Achol"', f'"Ach{written}ol"').encode()

    answer = rejected(env, 422, "invalid_message", body)

    assert answer["problems"] == [
        {
            "location": f"/individuals/{MOTHER}/progres_givenname",
            "message": f"string holds control character {code}",
        }
    ]
    assert "Ach" not in json.dumps(answer)


@pytest.mark.parametrize(("written", "code"), CONTROLS.values(), ids=CONTROLS.keys())
def test_a_control_character_in_a_key_is_refused_without_echoing_the_key(
    env: DemoEnvironment, written: str, code: str
) -> None:
    text = NOTIFICATION.decode()
    assert text.count('"progres_familyname": "Mabior"') == 1  # the mother's family name
    body = text.replace('"progres_familyname": "Mabior"', f'"Mabior{written}": 1').encode()

    answer = rejected(env, 422, "invalid_message", body)

    [problem] = answer["problems"]
    assert problem["message"] == f"a key holds control character {code}"
    assert problem["location"] == f"/individuals/{MOTHER}"
    assert "Mabior" not in json.dumps(answer)


def test_tab_line_feed_and_carriage_return_are_text(env: DemoEnvironment) -> None:
    def place(doc: dict[str, Any]) -> None:
        doc["progres_placeofbirth"] = "Kakuma 4,\tblock 2\r\nTurkana"

    response = post(env, edited(place))

    assert response.status_code == 202, response.text


def _admin_post(env: DemoEnvironment, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(
        f"{env.gateway_url}{path}", json=body, headers=admin_headers(env.runtime), timeout=30
    )


def _rows(env: DemoEnvironment, model: Any) -> list[str]:
    with env.runtime.db.unit_of_work() as session:
        return sorted(repr(dict(r)) for r in session.execute(select(model.__table__)).mappings())


@pytest.mark.parametrize("field", ["name", "adapter", "outbound_token"])
@pytest.mark.parametrize("character", ["\x00", "\x1b", "\x9b", "\u202e"], ids=repr)
def test_a_system_with_a_control_character_is_refused_before_the_database(
    env: DemoEnvironment, field: str, character: str
) -> None:
    spec = {"id": "registry-two", "name": "Registry two", "adapter": "opencrvs"}
    before = _rows(env, System)

    response = _admin_post(env, "/systems", {**spec, field: f"Registry{character}two"})

    assert response.status_code == 422, response.text
    answer = response.json()
    assert answer["reason"] == "invalid_input"
    [problem] = answer["problems"]
    assert problem["location"] == f"body.{field}"
    assert f"holds control character U+{ord(character):04X}" in problem["message"]
    assert "Registry" not in json.dumps(answer)
    assert _rows(env, System) == before


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"subject": {"scheme": "progres-individual", "value": "KKM\u202e-26-0099"}}, "value"),
        ({"subject": {"scheme": "progres\x00individual", "value": "KKM-26-0099"}}, "scheme"),
        ({"recipient": "crvs-national\x07"}, "recipient"),
    ],
    ids=["subject-value", "subject-scheme", "recipient"],
)
def test_a_consent_with_a_control_character_is_refused(
    env: DemoEnvironment, change: dict[str, Any], where: str
) -> None:
    grant = {
        "subject": {"scheme": "progres-individual", "value": "KKM-26-0099"},
        "recipient": "crvs-national",
        "purpose": "birth-registration",
        "categories": ["identity", "birth"],
    }
    before = _rows(env, ConsentRow)

    response = _admin_post(env, "/consents", {**grant, **change})

    assert response.status_code == 422, response.text
    [problem] = response.json()["problems"]
    assert problem["location"].endswith(where)
    assert "holds control character" in problem["message"]
    assert _rows(env, ConsentRow) == before
