"""Rendered ids and bytes: stable across releases, and what uuid5 and json.dumps would make."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from adapters.kit.mapping import MappingSet, load_mapping_set
from adapters.opencrvs import OpenCrvsAdapter
from adapters.opencrvs.ids import NAMESPACE, Ids, digest
from adapters.opencrvs.render import build_bundle
from gateway.canonical import BirthEvent
from tests.adapters.test_opencrvs_conformance import births, characters

BN = "birth-notification"
MAPPINGS: MappingSet = load_mapping_set("adapters.opencrvs", "opencrvs")
ADAPTER = OpenCrvsAdapter(MAPPINGS)


def _json_dumps(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(birth=births(), roles=st.lists(st.text(characters, max_size=20), max_size=20))
def test_ids_and_bytes_are_what_uuid5_and_json_dumps_make(
    birth: BirthEvent, roles: list[str]
) -> None:
    canonical = _json_dumps(birth.model_dump(mode="json"))
    assert digest(birth) == hashlib.sha256(canonical).hexdigest()

    ids = Ids(birth)
    for role in ["composition", "child-details", *roles]:
        assert ids.uuid(role) == str(uuid.uuid5(NAMESPACE, f"{digest(birth)}/{role}"))

    bundle = build_bundle(MAPPINGS, BN, birth)
    assert ADAPTER.render(BN, birth).body == _json_dumps(bundle)


class _Payload(BaseModel):
    child: str
    born: str


def test_ids_are_pinned_so_a_replay_after_an_upgrade_is_the_same_message() -> None:
    ids = Ids(_Payload(child="A child", born="2025-03-02"))
    assert str(NAMESPACE) == "9ea49e1c-2bcb-5348-8396-58cd12eb9210"
    assert ids.urn("composition") == "urn:uuid:238da6d6-477c-55ab-aea1-6405d4d97079"
    assert ids.urn("child-details") == "urn:uuid:f155e1d7-9e69-560d-9517-82e2876fe484"
