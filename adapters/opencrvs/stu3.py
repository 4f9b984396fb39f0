"""The reference validator: strict FHIR STU3, for the bundles the gateway sends to OpenCRVS.

OpenCRVS speaks STU3 (Composition.class, Observation.context), so bundles are validated with
the STU3 models of fhir.resources, never R4 ones. Those models check structure, cardinality
and datatypes but not empty values, which FHIR JSON forbids and OpenCRVS's own samples use
(`"start": ""`), so they are checked here too.

Rendering checks the compiled schema (schemas/birth-notification.schema.json) instead, which
is stricter than STU3 where the renderer always is. This validator checks the start-up probe
(probe.py) and, in the tests, every generated birth and every mutation that proves the
compiled schema no looser than STU3.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fhir.resources.STU3.bundle import Bundle
from pydantic import ValidationError

from adapters.kit.jsonschema_problems import pointer
from gateway.errors import Problem, validation_problems


def _empty_values(value: Any, where: str) -> Iterator[str]:
    if value is None or (isinstance(value, str | list | dict) and not value):
        yield where or "/"
    elif isinstance(value, dict):
        for key, child in value.items():
            yield from _empty_values(child, f"{where}/{key}")
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from _empty_values(child, f"{where}/{i}")


def stu3_problems(bundle: dict[str, Any]) -> list[Problem]:
    """Return every way a bundle is not strictly valid FHIR STU3 JSON."""
    problems = [
        Problem(where, "FHIR JSON allows no empty or null values")
        for where in _empty_values(bundle, "")
    ]
    try:
        Bundle.model_validate(bundle)
    except ValidationError as exc:
        problems += validation_problems(exc.errors(), pointer)
    except (KeyError, TypeError):  # fhir.resources looks a resource's model up by its name
        problems.append(Problem("/", "a resource names a resource type STU3 does not have"))
    return problems
