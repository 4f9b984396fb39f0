"""Rendered ids and bytes: the same as the standard library would make, only cheaper."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.mapping import MappingSet, load_mapping_set
from adapters.opencrvs.ids import NAMESPACE, Ids, digest
from adapters.opencrvs.render import build_bundle, render_birth_notification
from gateway.canonical import BirthEvent
from tests.adapters.test_opencrvs_conformance import births, characters

BN = "birth-notification"
MAPPINGS: MappingSet = load_mapping_set("opencrvs")


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
    assert render_birth_notification(MAPPINGS, BN, birth) == _json_dumps(bundle)
