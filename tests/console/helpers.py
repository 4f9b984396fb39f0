"""Signing in to the console over HTTP, reading its forms, and records written straight to the
store (what a tampered database would hold)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import uuid
from collections.abc import Iterable

import httpx

from gateway.audit import repository
from gateway.audit.record import Record
from gateway.runtime import Runtime

PAGES = (
    "/console/exchanges",
    "/console/subject",
    "/console/denials",
    "/console/transfers",
    "/console/integrity",
)
_FORM_TOKEN = re.compile(r'name="form_token" value="([^"]+)"')
_URLS = re.compile(r'(?:href|action|src)="([^"]*)"')


def sign_in(console: httpx.Client, token: str, **headers: str) -> httpx.Response:
    return console.post("/console/login", data={"token": token}, headers=headers)


def signed_in(console: httpx.Client, token: str) -> httpx.Client:
    answer = sign_in(console, token)
    assert answer.status_code == 303, answer.text
    return console


def form_token(console: httpx.Client) -> str:
    page = console.get("/console/subject")
    assert page.status_code == 200
    found = _FORM_TOKEN.search(page.text)
    assert found is not None
    return found.group(1)


def urls_in(page: str) -> list[str]:
    """Every address a page links to, posts to or loads."""
    return _URLS.findall(page)


def record(**fields: object) -> Record:
    """A record as the exchange path writes one, with these fields instead."""
    base = Record(
        id=str(uuid.uuid4()),
        recorded_at=dt.datetime.now(dt.UTC),
        source="unhcr-progres",
        destination="crvs-national",
        destination_jurisdiction="KEN",
        message_type="birth-notification",
        purpose="birth-registration",
        legal_basis="consent",
        agreement=None,
        subjects=("ps_" + "0" * 32,),
        categories=("birth", "identity"),
        decision="allowed",
        reasons=(),
        policy_version="sha256:0000",
        policy_rule="birth-to-civil-registry",
        mapping_version=None,
        request_digest=None,
        payload_digest=None,
    )
    return dataclasses.replace(base, **fields)  # type: ignore[arg-type]


def store(runtime: Runtime, records: Iterable[Record]) -> None:
    """Write records straight to the store, each with its leaf hash, as the exchange path does."""
    with runtime.db.transaction() as connection:
        for found in records:
            for statement, rows in repository.writes(found):
                connection.execute(statement, rows)
