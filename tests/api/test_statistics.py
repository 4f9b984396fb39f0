"""Statistics over HTTP, on a served gateway with the demo systems: births sent as proGres sends
them fill the register, and `POST /statistics/query` counts it, never answering a count under
k, for the administrator, the DPO and the systems of the group `statistics-recipient` only.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

import policies
from gateway.config import Settings
from gateway.demo.flow import CIVIL_REGISTRY, REGISTRATION, DemoEnvironment
from gateway.demo.server import ServedGateway
from gateway.statistics.schemas import MAX_FILTER_VALUES
from tests.api.helpers import BODY_LIMIT, NEW_SYSTEM, admin_headers, system_headers

QUERY = "/statistics/query"
RECIPIENT = NEW_SYSTEM["id"]


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    """k = 3, and the shipped policy with one more system in `statistics-recipient`."""
    shipped = Path(policies.__file__).parent
    policy = tmp_path / "policy"
    shutil.copytree(shipped, policy, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    with (policy / "default.csv").open("a") as rules:
        rules.write(f"g, {RECIPIENT}, statistics-recipient\n")
    return settings.model_copy(update={"statistics_min_cell": 3, "policy_dir": policy})


def ask(served: ServedGateway, body: Any, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{served.url}{QUERY}", json=body, headers=headers, timeout=30)


def dpo_headers(served: ServedGateway) -> dict[str, str]:
    return {"Authorization": f"Bearer {served.runtime.settings.resolved_dpo_token()}"}


def test_counts_the_people_of_allowed_births_and_never_a_count_under_k(
    env: DemoEnvironment, served: ServedGateway
) -> None:
    assert env.submit_birth(CIVIL_REGISTRY).status_code == 202  # a mother, a father, a child
    admin = admin_headers(served.runtime)

    everyone = ask(served, {}, admin)
    by_sex = ask(served, {"dimensions": ["sex"]}, admin)
    by_nationality = ask(
        served, {"dimensions": ["nationality"], "reference_date": "2026-06-30"}, admin
    )

    assert everyone.status_code == by_sex.status_code == by_nationality.status_code == 200
    assert everyone.json()["cells"] == [{"values": {}, "count": 3}]
    assert everyone.json()["min_cell"] == 3
    assert by_sex.json()["cells"] == []  # two women, one man: both under 3
    assert by_nationality.json()["cells"] == [{"values": {"nationality": "SSD"}, "count": 3}]
    assert by_nationality.json()["query"]["reference_date"] == "2026-06-30"
    assert everyone.json()["query"]["reference_date"] is not None  # today, filled in


def test_the_administrator_the_dpo_and_statistics_recipients_may_ask(
    env: DemoEnvironment, served: ServedGateway
) -> None:
    admin = admin_headers(served.runtime)
    registered = httpx.post(f"{served.url}/systems", json=NEW_SYSTEM, headers=admin, timeout=30)
    recipient = {"Authorization": f"Bearer {registered.json()['credential']}"}

    answers = {
        "admin": ask(served, {}, admin),
        "dpo": ask(served, {}, dpo_headers(served)),
        "recipient": ask(served, {}, recipient),
        "registration": ask(served, {}, system_headers(env, REGISTRATION)),
        "registration, no body": ask(served, None, system_headers(env, REGISTRATION)),
        "nobody": ask(served, {}, {}),
    }

    statuses = {who: answer.status_code for who, answer in answers.items()}
    assert statuses == {
        "admin": 200,
        "dpo": 200,
        "recipient": 200,
        "registration": 403,
        "registration, no body": 403,  # refused before its query is looked at
        "nobody": 401,
    }
    assert "statistics-recipient" in answers["registration"].json()["message"]


def test_bad_input_is_refused_with_every_problem(served: ServedGateway) -> None:
    refused = ask(
        served,
        {
            "dimensions": ["nationality", "religion", "sex", "sex"],
            "nationality": ["Atlantis"],
            "location": ["Not A System"],
            "period_from": "2026-13",
            "reference_date": "2026-02-30",
            "colour": "blue",
        },
        admin_headers(served.runtime),
    )

    assert refused.status_code == 422
    body = refused.json()
    assert body["reason"] == "invalid_input"
    located = sorted({p["location"].split(".")[1] for p in body["problems"]})
    assert located == [
        "colour",
        "dimensions",
        "location",
        "nationality",
        "period_from",
        "reference_date",
    ]
    said = " ".join(p["message"] for p in body["problems"])
    assert "Input should be 'nationality', 'sex', 'age_band'" in said  # what would do
    assert "unknown country: 'Atlantis'" in said


@pytest.mark.parametrize(
    "body",
    [
        {"dimensions": ["sex", "sex"]},  # repeated
        {"dimensions": ["sex", "nationality", "age_band", "period", "location"]},  # over 4
        {"dimensions": "sex"},
        {"nationality": ["SSD"] * (MAX_FILTER_VALUES + 1)},
        {"location": []},
        {"reference_date": 1767225600},  # a number is not a date
        {"reference_date": "2026-06-30T00:00:00Z"},
        {"reference_date": "1899-12-31"},
        {"period_from": "2026-1"},
        {"period_from": "2026-06", "period_to": "2026-01"},
        [],
    ],
)
def test_each_bad_query_is_refused(served: ServedGateway, body: Any) -> None:
    refused = ask(served, body, admin_headers(served.runtime))

    assert refused.status_code == 422, refused.text
    assert refused.json()["problems"]


def test_an_oversized_query_is_refused_unread(served: ServedGateway) -> None:
    body = {"dimensions": ["sex"], "location": ["x" * BODY_LIMIT]}

    assert ask(served, body, admin_headers(served.runtime)).status_code == 413


def test_the_document_says_what_the_route_answers(served: ServedGateway) -> None:
    document = httpx.get(f"{served.url}/openapi.json", timeout=30).json()
    operation = document["paths"][QUERY]["post"]

    assert set(operation["responses"]) >= {"200", "400", "401", "403", "413", "422"}
    example = operation["responses"]["200"]["content"]["application/json"]["example"]
    assert all(cell["count"] >= example["min_cell"] for cell in example["cells"])
    assert operation["security"] == [{"bearer": []}]
