"""Interviews and the sample guide, shared by the referral tests."""

from __future__ import annotations

import datetime as dt
from importlib.resources import files
from typing import Any

import yaml

from gateway.canonical.interview import IdentificationInterview
from gateway.referrals.guide import ReferenceGuide, from_yaml

ON = dt.date(2026, 3, 2)


def sample_guide_text() -> bytes:
    return files("policies").joinpath("reference-guide.yaml").read_bytes()


def guide_doc(**changes: Any) -> dict[str, Any]:
    """The sample guide as a JSON document (YAML's dates written as JSON writes them)."""
    doc: dict[str, Any] = _jsonable(yaml.safe_load(sample_guide_text()))
    doc.update(changes)
    return doc


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value.isoformat() if isinstance(value, dt.date) else value


def sample_guide(**changes: Any) -> ReferenceGuide:
    guide = from_yaml(sample_guide_text())
    return guide.model_copy(update=changes) if changes else guide


def interview_doc(**answers: Any) -> dict[str, Any]:
    """An interview of an adult with a name and a document, and the answers given."""
    doc: dict[str, Any] = {
        "reference": "bp7-2026-0042",
        "interviewed_on": ON.isoformat(),
        "office": "bp-7",
        "person": {
            "ref": "p1",
            "names": [{"given": ["Amina"], "family": "Yusuf"}],
            "sex": "female",
            "birth_date": {"date": "1990-05-01"},
            "nationalities": ["SOM"],
            "country_of_origin": "SOM",
            "documents": [{"type": "passport", "number": "P1234567", "issuing_country": "SOM"}],
        },
    }
    doc.update(answers)
    return doc


def child_doc(**answers: Any) -> dict[str, Any]:
    doc = interview_doc(**answers)
    doc["person"] = {
        "ref": "c1",
        "names": [{"given": ["Dawit"]}],
        "sex": "male",
        "birth_date": {"date": "2011-09-10", "estimated": True},
        "nationalities": ["ERI"],
    }
    return doc


def interview(**answers: Any) -> IdentificationInterview:
    return IdentificationInterview.model_validate(interview_doc(**answers))
