"""Registrations through the real pipeline (gateway/pipeline.py): proGres individual
registrations sent over HTTP, checked in the transaction of their exchange record, flagged
to the destination (the registration authority) alone, read at GET /registrations/flags.
The sender's accept answer says nothing of flags, and nothing said holds a record's content.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from gateway.config import Settings
from gateway.demo.server import ServedGateway
from gateway.envelope import to_headers
from gateway.pipeline import Accepted, Inbound, Parsed, Refused
from gateway.store.group import Batch, GroupCommit
from gateway.store.models import RegistrationDigest
from tests.fixtures.policies import policy_folder
from tests.registrations.conftest import OFFICES_AGREEMENT, build, register_system
from tests.registrations.support import stored_flags

SENDER, OFFICE = "unhcr-progres", "unhcr-progres-nbo"  # sends; registers (flags raised to it)
RULES = f"""
p, registration-authority, registration-office, individual-registration, registration, public-interest, identity|nationality|identifiers|family
g, {OFFICE}, registration-office
g, {OFFICE}, asylum-authority
"""  # noqa: E501
# The office is also an asylum authority (as in tests/test_un_flows.py): the children's data
# may reach it without a guardian's consent (gateway/policy/children.py).
FIXTURE = "fixtures/individual-registration/focal-point-with-children.json"
# What the fixture holds of its three persons: none of it may be said or kept.
CONTENT = (
    "Ayen", "Deng", "Abuk", "Mabior", "mabior", "KKM-26-0044", "SSD-ID", "88120455",
    "1991-02-14", "2015-09-03", "2019-01-22",
)  # fmt: skip
PATH = "/registrations/flags"


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    """The shipped policy, with registrations from the authority to its offices allowed."""
    policy = policy_folder(tmp_path / "policy", RULES, OFFICES_AGREEMENT)
    return settings.model_copy(update={"policy_dir": policy})


def registered_again() -> bytes:
    """The focal point's son, registered alone by a legacy system: no proGres id, his
    name, date of birth and sex only."""
    doc = json.loads(files("adapters.progres").joinpath(FIXTURE).read_bytes())
    son = {k: v for k, v in doc["household"][0].items() if not k.startswith("progres_relat")}
    del son["progres_individualid"]
    alone = {**{k: v for k, v in doc.items() if k != "household"}, "individual": son}
    return json.dumps(alone).encode()


def envelope(key: str, destination: str = OFFICE) -> dict[str, str]:
    return to_headers(
        {
            "idempotency_key": key,
            "destination": destination,
            "message_type": "individual-registration",
            "purpose": "registration",
            "legal_basis": "public-interest",
        }
    ) | {"Content-Type": "application/json"}


def post(served: ServedGateway, credential: str, body: bytes, **how: str) -> httpx.Response:
    headers = envelope(**how) | {"Authorization": f"Bearer {credential}"}
    return httpx.post(f"{served.url}/exchanges", content=body, headers=headers, timeout=30)


def flags_seen(served: ServedGateway, credential: str) -> httpx.Response:
    return httpx.get(f"{served.url}{PATH}", headers={"Authorization": f"Bearer {credential}"})


def test_a_person_registered_again_is_flagged_to_the_authority_only(
    served: ServedGateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sender = register_system(served.runtime, SENDER)
    office = register_system(served.runtime, OFFICE)
    admin = served.runtime.settings.resolved_admin_token()
    body = files("adapters.progres").joinpath(FIXTURE).read_bytes()

    first = post(served, sender, body, key="registration-1")
    again = post(served, sender, body, key="registration-2")  # the whole group, ids and all
    replayed = post(served, sender, body, key="registration-2")
    legacy = post(served, sender, registered_again(), key="registration-3")
    denied = post(served, office, body, key="registration-4", destination=SENDER)  # no rule: denied

    answers = [first, again, replayed, legacy, denied]
    assert [a.status_code for a in answers] == [202, 202, 200, 202, 403], denied.text
    assert not any("flags" in a.json() for a in answers)  # the sender is told nothing of them
    ids = [a.json()["exchange_id"] for a in answers]
    assert ids[2] == ids[1]

    seen = flags_seen(served, office)
    assert seen.status_code == 200, seen.text
    found = {
        (f["exchange_id"], f["position"], f["matched_exchange_id"], f["matched_position"]):
        (f["strength"], f["evidence"], f["authority"])
        for f in seen.json()["flags"]
    }  # fmt: skip
    strong = ("strong", "identifier", OFFICE)
    probable = ("probable", "name+dob+sex", OFFICE)
    assert found == {
        (ids[1], 0, ids[0], 0): strong,  # the focal point: her proGres id, her ID card
        (ids[1], 1, ids[0], 1): strong,  # her children: their proGres ids
        (ids[1], 2, ids[0], 2): strong,
        (ids[3], 0, ids[0], 1): probable,  # her son, unnumbered: name, date of birth and sex
        (ids[3], 0, ids[1], 1): probable,
    }  # once each: the replay raised none
    assert flags_seen(served, admin).json()["flags"] == seen.json()["flags"]
    assert flags_seen(served, sender).json()["flags"] == []  # the sender's own: none
    with served.runtime.db.reading() as session:
        digested = set(session.scalars(select(RegistrationDigest.exchange_id)))
    assert digested == {ids[0], ids[1], ids[3]}  # a denied registration is nobody's evidence

    said = "\n".join([*(a.text for a in answers), seen.text, caplog.text])
    for clear in CONTENT:
        assert clear not in said


def test_registrations_of_one_person_in_one_batch_are_flagged_once_per_pair(
    settings: Settings,
) -> None:
    """Three at once: one batch, prepared once (gateway/pipeline.py); the second is flagged
    against the first, the third against both, as if each had been committed alone."""
    runtime = build(settings)
    batches: list[int] = []
    service = runtime.exchanges

    def counted(batch: Batch, reads: Sequence[Parsed | Refused]) -> Any:
        batches.append(len(reads))
        return service.decide_and_record(batch, reads)

    try:
        service.writes = GroupCommit(runtime.db, counted)  # the pipeline's own, counted
        sender = register_system(runtime, SENDER)
        register_system(runtime, OFFICE)
        body = files("adapters.progres").joinpath(FIXTURE).read_bytes()

        async def together() -> list[Accepted]:
            inbound = [Inbound(sender, envelope(f"batch-key-{i}"), body) for i in "abc"]
            return list(await asyncio.gather(*map(service.submit, inbound)))

        accepted = asyncio.run(together())
        assert batches == [3]
        ids = [a.exchange_id for a in accepted]
        rows = stored_flags(runtime.db)
        pairs = {(r["exchange_id"], r["matched_exchange_id"]) for r in rows}
        assert len(pairs) == 3 and all(a != b for a, b in pairs) and set().union(*pairs) == set(ids)
        assert len(rows) == 3 * 3  # per pair, each of the three persons, against itself
        assert {r["strength"] for r in rows} == {"strong"}
        assert all(r["position"] == r["matched_position"] for r in rows)
    finally:
        runtime.close()
