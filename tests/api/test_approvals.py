"""The DPO's approval queue over HTTP: held answers, listings, decisions, roles, bad input.

The relay is off here (tests/api/conftest.py): what is delivered, and what never is, is
tests/approvals/test_delivery.py's. Exchanges are held by the policy double of
tests/approvals/support.py (idempotency keys starting `held-`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from gateway.approvals.schemas import REASON_LIMIT, ApprovalOut, ApprovalPage
from gateway.demo.flow import CIVIL_REGISTRY, EMBASSY, REGISTRATION, DemoEnvironment
from gateway.demo.server import ServedGateway
from gateway.runtime import Runtime
from tests.api.helpers import admin_headers, system_headers
from tests.approvals.support import WHY, decide, dpo_headers, hold_keyed, submit

UNKNOWN = "0b5a6a9e-55a0-4c1e-9b8a-3d2f0e1c7a11"
NAMES = ("Nyandeng", "Achol", "Garang", "Deng")  # in the demo birth notification
MALFORMED = [
    "not-an-id",
    UNKNOWN.upper(),  # the gateway's ids are lower case
    UNKNOWN + "0",
    "%00",
    "x" * 2000,
]


@pytest.fixture
def held_env(env: DemoEnvironment) -> Iterator[DemoEnvironment]:
    hold_keyed(env.runtime)
    yield env


def dpo(runtime: Runtime) -> dict[str, str]:
    return dpo_headers(runtime)


def get(served: ServedGateway, path: str, headers: dict[str, str], **params: Any) -> httpx.Response:
    return httpx.get(f"{served.url}{path}", headers=headers, params=params, timeout=30)


def post(
    served: ServedGateway, path: str, headers: dict[str, str], **request: Any
) -> httpx.Response:
    return httpx.post(f"{served.url}{path}", headers=headers, timeout=30, **request)


# --- holding --------------------------------------------------------------------------------


def test_a_held_exchange_is_answered_202_awaiting_approval(
    served: ServedGateway, held_env: DemoEnvironment
) -> None:
    held = held_env.submit_birth(CIVIL_REGISTRY, key="held-birth-0101")
    plain = held_env.submit_birth(CIVIL_REGISTRY, key="plain-birth-0101")
    replayed = held_env.submit_birth(CIVIL_REGISTRY, key="held-birth-0101")

    assert (held.status_code, plain.status_code, replayed.status_code) == (202, 202, 200)
    assert held.json()["status"] == "awaiting-approval"
    assert plain.json()["status"] == "queued"
    assert replayed.json() == {**held.json(), "replay": True}  # answered as the first time
    status = get(
        served,
        f"/exchanges/{held.json()['exchange_id']}",
        system_headers(held_env, REGISTRATION),
    )
    assert status.json()["decision"] == "allowed"
    assert status.json()["delivery"]["status"] == "awaiting-approval"
    assert status.json()["delivery"]["next_attempt_at"] is None


def test_a_denied_exchange_is_not_held(served: ServedGateway, held_env: DemoEnvironment) -> None:
    denied = held_env.submit_birth(EMBASSY, key="held-birth-0102")  # the origin guard first

    assert denied.status_code == 403
    listed = get(served, "/dpo/approvals", dpo(served.runtime), state="all")
    assert listed.json() == {"approvals": [], "next_cursor": None}


# --- reading the queue ------------------------------------------------------------------------


def test_the_queue_lists_pending_oldest_first_a_page_at_a_time(
    served: ServedGateway, held_env: DemoEnvironment
) -> None:
    ids = [submit(held_env, f"held-birth-02{n:02d}") for n in range(3)]
    submit(held_env, "plain-birth-0200")  # not held: never listed
    assert decide(served.url, served.runtime, ids[1], "approve").status_code == 200

    first = get(served, "/dpo/approvals", dpo(served.runtime), limit=1)
    second = get(
        served, "/dpo/approvals", dpo(served.runtime), limit=1, cursor=first.json()["next_cursor"]
    )
    approved = get(served, "/dpo/approvals", dpo(served.runtime), state="approved")
    every = get(served, "/dpo/approvals", dpo(served.runtime), state="all")
    rejected = get(served, "/dpo/approvals", dpo(served.runtime), state="rejected")

    def listed(answer: httpx.Response) -> list[str]:
        assert answer.status_code == 200, answer.text
        page = ApprovalPage.model_validate(answer.json())
        return [a.exchange_id for a in page.approvals]

    assert listed(first) == [ids[0]] and first.json()["next_cursor"] is not None
    assert listed(second) == [ids[2]] and second.json()["next_cursor"] is None
    assert listed(approved) == [ids[1]]
    assert listed(every) == ids[::-1]  # decided and pending, newest first
    assert listed(rejected) == []


def test_a_held_exchange_shows_metadata_and_never_the_body(
    served: ServedGateway, held_env: DemoEnvironment
) -> None:
    held = submit(held_env, "held-birth-0301")

    answer = get(served, f"/dpo/approvals/{held}", dpo(served.runtime))

    assert answer.status_code == 200, answer.text
    shown = ApprovalOut.model_validate(answer.json())
    assert (shown.exchange_id, shown.state, shown.why) == (held, "pending", WHY)
    assert (shown.decided_at, shown.decided_by, shown.reason) == (None, None, None)
    exchange = shown.exchange
    assert (exchange.source, exchange.destination, exchange.purpose) == (
        REGISTRATION,
        CIVIL_REGISTRY,
        "birth-registration",
    )
    assert "birth" in exchange.categories and exchange.subjects
    assert exchange.delivery is not None and exchange.delivery.status == "awaiting-approval"
    assert not any(name in answer.text for name in NAMES)
    assert "body" not in answer.json() and "body" not in answer.json()["exchange"]


# --- deciding -------------------------------------------------------------------------------


def test_a_decision_is_taken_once(served: ServedGateway, held_env: DemoEnvironment) -> None:
    first, second = submit(held_env, "held-birth-0401"), submit(held_env, "held-birth-0402")

    approved = decide(served.url, served.runtime, first, "approve", reason="covered by MoU 4")
    again = decide(served.url, served.runtime, first, "approve")
    then_rejected = decide(served.url, served.runtime, first, "reject", reason="changed my mind")
    rejected = decide(served.url, served.runtime, second, "reject", reason="not covered")
    then_approved = decide(served.url, served.runtime, second, "approve")

    assert approved.status_code == rejected.status_code == 200
    assert approved.json()["exchange"]["delivery"]["status"] == "pending"
    assert (approved.json()["state"], approved.json()["reason"]) == ("approved", "covered by MoU 4")
    assert approved.json()["decided_by"] == "dpo" and approved.json()["decided_at"]
    assert rejected.json()["exchange"]["delivery"]["status"] == "rejected"
    for refused, earlier in ((again, "approved"), (then_rejected, "approved")):
        assert refused.status_code == 409 and refused.json()["reason"] == "conflict"
        assert refused.json()["message"] == f"exchange {first} was already {earlier}"
    assert then_approved.status_code == 409 and "already rejected" in then_approved.text
    shown = get(served, f"/dpo/approvals/{first}", dpo(served.runtime)).json()
    assert (shown["state"], shown["reason"]) == ("approved", "covered by MoU 4")


def test_an_approval_needs_no_body_and_keeps_no_empty_reason(
    served: ServedGateway, held_env: DemoEnvironment
) -> None:
    held = submit(held_env, "held-birth-0501")

    answer = post(served, f"/dpo/approvals/{held}/approve", dpo(served.runtime))

    assert answer.status_code == 200, answer.text
    assert answer.json()["reason"] is None


def race(served: ServedGateway, held: str) -> dict[str, httpx.Response]:
    """Approve and reject an exchange from two clients released at the same moment."""
    start = threading.Barrier(2)
    answers: dict[str, httpx.Response] = {}

    def at_once(action: str) -> None:
        start.wait(10)
        answers[action] = decide(served.url, served.runtime, held, action, reason="racing")

    racers = [threading.Thread(target=at_once, args=(a,)) for a in ("approve", "reject")]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(30)
    return answers


def test_approve_and_reject_at_once_one_wins(
    served: ServedGateway, held_env: DemoEnvironment
) -> None:
    """Two DPO clients decide the same exchanges at the same moment: one wins each race."""
    for n in range(4):
        held = submit(held_env, f"held-birth-06{n:02d}")

        answers = race(served, held)

        codes = sorted(a.status_code for a in answers.values())
        assert codes == [200, 409], {k: v.text for k, v in answers.items()}
        winner = next(k for k, v in answers.items() if v.status_code == 200)
        shown = get(served, f"/dpo/approvals/{held}", dpo(served.runtime)).json()
        assert shown["state"] == {"approve": "approved", "reject": "rejected"}[winner]
        delivery = shown["exchange"]["delivery"]["status"]
        assert delivery == ("pending" if winner == "approve" else "rejected")


# --- who may ------------------------------------------------------------------------------------


def test_only_the_dpo_works_the_queue(served: ServedGateway, held_env: DemoEnvironment) -> None:
    """Separation of duties: the administrator, who points systems at endpoints, may not
    also approve what is sent to them; a system may not approve its own exchange."""
    held = submit(held_env, "held-birth-0701")
    callers = {
        "admin": (admin_headers(served.runtime), 403),
        "source": (system_headers(held_env, REGISTRATION), 403),
        "destination": (system_headers(held_env, CIVIL_REGISTRY), 403),
        "nobody": ({}, 401),
        "a wrong token": ({"Authorization": "Bearer not-a-token"}, 401),
    }
    for name, (headers, status) in callers.items():
        answers = [
            get(served, "/dpo/approvals", headers),
            get(served, f"/dpo/approvals/{held}", headers),
            post(served, f"/dpo/approvals/{held}/approve", headers, json={}),
            post(served, f"/dpo/approvals/{held}/reject", headers, json={"reason": "x"}),
        ]
        assert [a.status_code for a in answers] == [status] * 4, name

    shown = get(served, f"/dpo/approvals/{held}", dpo(served.runtime)).json()
    assert shown["state"] == "pending"


# --- bad input ----------------------------------------------------------------------------------


def test_an_id_with_no_approval_is_not_found(
    served: ServedGateway, held_env: DemoEnvironment
) -> None:
    plain = submit(held_env, "plain-birth-0801")  # allowed, not held
    denied = held_env.submit_birth(EMBASSY, key="plain-birth-0802").json()["exchange_id"]
    headers = dpo(served.runtime)

    for exchange_id in [*MALFORMED, UNKNOWN, plain, denied]:
        answers = [
            get(served, f"/dpo/approvals/{exchange_id}", headers),
            post(served, f"/dpo/approvals/{exchange_id}/approve", headers, json={}),
            post(served, f"/dpo/approvals/{exchange_id}/reject", headers, json={"reason": "no"}),
        ]
        for answer in answers:
            assert answer.status_code == 404, (exchange_id[:20], answer.text)
            assert answer.json()["reason"] == "not_found"
            assert len(answer.text) < 500  # a malformed id is not repeated back
    status = get(served, f"/exchanges/{plain}", system_headers(held_env, REGISTRATION))
    assert status.json()["delivery"]["status"] == "pending"  # untouched


BAD_REJECTIONS = {
    "no body": None,
    "empty": {},
    "blank": {"reason": ""},
    "spaces": {"reason": "   \n "},
    "too long": {"reason": "x" * (REASON_LIMIT + 1)},
    "a control character": {"reason": "fine \x1b[2J"},  # it could rewrite a terminal
    "a number": {"reason": 42},
    "an unknown field": {"reason": "fine", "approved": True},
}


def test_a_rejection_needs_a_reason_within_bounds(
    served: ServedGateway, held_env: DemoEnvironment
) -> None:
    held = submit(held_env, "held-birth-0901")

    for name, body in BAD_REJECTIONS.items():
        answer = post(served, f"/dpo/approvals/{held}/reject", dpo(served.runtime), json=body)

        assert answer.status_code == 422, (name, answer.text)
        assert answer.json()["reason"] == "invalid_input", name
        assert "\x1b" not in answer.text
    shown = get(served, f"/dpo/approvals/{held}", dpo(served.runtime)).json()
    assert shown["state"] == "pending"
    assert shown["exchange"]["delivery"]["status"] == "awaiting-approval"


def test_reasons_are_kept_to_the_limit_and_trimmed(
    served: ServedGateway, held_env: DemoEnvironment
) -> None:
    longest, trimmed = submit(held_env, "held-birth-1001"), submit(held_env, "held-birth-1002")
    too_long = submit(held_env, "held-birth-1003")

    kept = decide(served.url, served.runtime, longest, "reject", reason="é" * REASON_LIMIT)
    spaced = decide(served.url, served.runtime, trimmed, "approve", reason="  covered  ")
    refused = decide(served.url, served.runtime, too_long, "approve", reason="x" * 501)

    assert kept.status_code == 200 and kept.json()["reason"] == "é" * REASON_LIMIT
    assert spaced.status_code == 200 and spaced.json()["reason"] == "covered"
    assert refused.status_code == 422


BAD_FILTERS = [
    {"state": "waiting"},
    {"limit": "0"},
    {"limit": "501"},
    {"cursor": "abc"},
    {"cursor": "0"},
    {"status": "pending"},  # an unknown filter
]


def test_a_listing_with_bad_filters_is_refused(served: ServedGateway, env: DemoEnvironment) -> None:
    for params in BAD_FILTERS:
        answer = get(served, "/dpo/approvals", dpo(served.runtime), **params)

        assert answer.status_code == 422, (params, answer.text)
        assert answer.json()["reason"] == "invalid_input"
