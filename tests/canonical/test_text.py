"""Canonical text holds no control characters, whoever builds it: adapter or administrator.

Every string field of the canonical model, and the administrator's inputs (SystemSpec,
ConsentGrant), refuse C0 controls but tab, LF and CR; DEL; C1; and bidirectional controls.
"""

from __future__ import annotations

import copy
import datetime as dt
import typing
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

import gateway.canonical as canonical
from gateway.canonical import (
    BirthEvent,
    BirthRegistration,
    Consent,
    Envelope,
    FamilyLink,
    Identifier,
    IdentityDocument,
    Person,
    PersonName,
)
from gateway.canonical.person import Canonical
from gateway.canonical.text import control_character
from gateway.consents import ConsentGrant
from gateway.systems import SystemSpec

REFUSED = ["\x00", "\x07", "\x08", "\x0b", "\x0c", "\x1b", "\x1f", "\x7f", "\x85", "\x9f"] + [
    "\u202a",
    "\u202e",
    "\u2066",
    "\u2069",
]
ALLOWED = ["\t", "\n", "\r", " ", "\u00a0", "\u200e", "\u200f", "\u061c", "\ufeff", "\U0001f600"]

CHILD = {"ref": "child", "identifiers": [{"scheme": "progres-individual", "value": "KKM-1"}]}
MOTHER = {"ref": "mother"}
# Each model with valid data, and the string fields in it to spoil (a.0.b: list index 0).
MODELS: list[tuple[type[BaseModel], dict[str, Any], list[str]]] = [
    (PersonName, {"given": ["Achol"], "family": "Mabior"}, ["given.0", "family"]),
    (Identifier, {"scheme": "progres-individual", "value": "KKM-1"}, ["scheme", "value"]),
    (IdentityDocument, {"type": "passport", "number": "P1"}, ["type", "number"]),
    (FamilyLink, {"relationship": "mother", "person_ref": "m"}, ["person_ref"]),
    (
        Person,
        {"ref": "m", "specific_needs": ["DS-BD"], "names": [{"given": ["Achol"]}]},
        ["ref", "specific_needs.0", "names.0.given.0"],
    ),
    (
        BirthEvent,
        {"child": CHILD, "mother": MOTHER, "date": "2025-03-02", "country": "KEN", "place": "K"},
        ["place", "child.ref", "mother.ref", "child.identifiers.0.value"],
    ),
    (
        BirthRegistration,
        {"child": CHILD, "registration_number": "2025KE1", "tracking_id": "BALYJMQ"},
        ["registration_number", "tracking_id", "child.identifiers.0.scheme"],
    ),
    (
        Consent,
        {
            "id": "c1",
            "subject": {"scheme": "pseudonym", "value": "p1"},
            "recipient": "crvs-national",
            "purpose": "birth-registration",
            "categories": ["birth"],
            "granted_at": dt.datetime(2025, 3, 1, tzinfo=dt.UTC),
        },
        ["id", "recipient", "purpose", "subject.value"],
    ),
    (
        Envelope,
        {
            "source": "unhcr-progres",
            "destination": "crvs-national",
            "message_type": "birth-notification",
            "purpose": "birth-registration",
            "legal_basis": "consent",
            "agreement": "agreement-1",
            "idempotency_key": "key-0001",
        },
        ["source", "destination", "message_type", "purpose", "agreement", "idempotency_key"],
    ),
    (
        SystemSpec,
        {"id": "registry-two", "name": "Registry", "adapter": "opencrvs", "outbound_token": "t"},
        ["name", "adapter", "outbound_token"],
    ),
    (
        ConsentGrant,
        {
            "subject": {"scheme": "progres-individual", "value": "KKM-1"},
            "recipient": "crvs-national",
            "purpose": "birth-registration",
            "categories": ["birth"],
        },
        ["recipient", "subject.scheme", "subject.value"],
    ),
]
SPOILED = [(model, data, path) for model, data, paths in MODELS for path in paths]


def _with(data: dict[str, Any], path: str, change: str) -> dict[str, Any]:
    """Return a deep copy of data with `change` inserted into the string at a dotted path."""
    spoiled = copy.deepcopy(data)
    *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
    node: Any = spoiled
    for key in parents:
        node = node[key]
    node[last] = node[last][:1] + change + node[last][1:]
    return spoiled


@pytest.mark.parametrize("character", REFUSED, ids=lambda c: f"U+{ord(c):04X}")
@pytest.mark.parametrize(
    ("model", "data", "path"), SPOILED, ids=[f"{m.__name__}.{p}" for m, _, p in SPOILED]
)
def test_every_text_field_refuses_control_characters(
    model: type[BaseModel], data: dict[str, Any], path: str, character: str
) -> None:
    model.model_validate(data)  # valid as it is

    with pytest.raises(ValidationError) as caught:
        model.model_validate(_with(data, path, character))

    [error] = caught.value.errors()
    assert ".".join(map(str, error["loc"])) == path
    if model is not Envelope:  # its fields are names matched by a pattern
        assert error["msg"] == f"Value error, holds control character U+{ord(character):04X}"
        assert "Achol" not in error["msg"] and "KKM" not in error["msg"]


@pytest.mark.parametrize("character", ALLOWED, ids=lambda c: f"U+{ord(c):04X}")
def test_other_characters_are_text(character: str) -> None:
    name = PersonName(given=[f"Ach{character}ol"], family=f"Mab{character}ior")
    assert name.given == [f"Ach{character}ol"]
    assert control_character(name.family or "") is None


def _strings(annotation: Any) -> bool:
    """Tell whether a type is, or holds, plain str."""
    if annotation is str:
        return True
    return any(_strings(arg) for arg in typing.get_args(annotation))


def _bare(model: type[BaseModel]) -> list[str]:
    """Name the fields of a model typed str but not Text, a Country or matched by a pattern."""
    found = []
    for name, field in model.model_fields.items():
        hints = repr(typing.get_type_hints(model, include_extras=True)[name])
        guarded = any(check in hints for check in ("_no_control_characters", "normalise_country"))
        guarded = guarded or any(getattr(m, "pattern", None) for m in field.metadata)
        if _strings(field.annotation) and not guarded:
            found.append(f"{model.__name__}.{name}")
    return found


def test_no_canonical_string_field_is_plain_str() -> None:
    models = [
        value
        for value in vars(canonical).values()
        if isinstance(value, type) and issubclass(value, Canonical)
    ]
    assert len(models) >= 9
    assert [bare for model in models for bare in _bare(model)] == []
