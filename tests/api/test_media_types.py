"""A body is read only as a media type its source adapter reads; anything else is a 415."""

from __future__ import annotations

import httpx
import pytest

from gateway.demo.flow import CIVIL_REGISTRY, DemoEnvironment, birth_notification


def send(env: DemoEnvironment, content_type: str | None) -> httpx.Response:
    headers = env.birth_headers(CIVIL_REGISTRY)
    headers.pop("Content-Type")
    if content_type is not None:
        headers["Content-Type"] = content_type
    return httpx.post(f"{env.gateway_url}/exchanges", content=birth_notification(), headers=headers)


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/xml", "application/json; charset=latin-1", "json"],
)
def test_a_media_type_the_source_does_not_read_is_refused_and_recorded(
    env: DemoEnvironment, content_type: str | None
) -> None:
    answer = send(env, content_type)

    assert answer.status_code == 415, answer.text
    assert answer.json()["reason"] == "unsupported_media_type"
    assert answer.json()["exchange_id"]
    assert answer.json()["problems"][0]["location"] == "Content-Type"


@pytest.mark.parametrize(
    "content_type", ["application/json", "Application/JSON; charset=UTF-8", "application/json;"]
)
def test_the_media_types_the_source_reads_are_accepted(
    env: DemoEnvironment, content_type: str
) -> None:
    assert send(env, content_type).status_code == 202
