"""The X-Road REST headers: read, checked by name without echoing a value, echoed back."""

from __future__ import annotations

import uuid

import pytest

from gateway.errors import DuplicateHeaderError, EnvelopeError, ForbiddenError
from gateway.xroad.headers import check_client, read


def raw(**headers: str) -> list[tuple[bytes, bytes]]:
    return [(k.replace("_", "-").lower().encode(), v.encode("latin-1")) for k, v in headers.items()]


def test_given_headers_are_echoed_and_an_id_is_generated_when_missing() -> None:
    given = read(raw(X_Road_Client="KE/GOV/7001/border-office", X_Road_UserId="KE:officer 17"))

    echoed = dict(given.echoed())

    assert echoed[b"x-road-client"] == b"KE/GOV/7001/border-office"
    assert echoed[b"x-road-userid"] == b"KE:officer 17"
    assert uuid.UUID(echoed[b"x-road-id"].decode())
    assert read(raw(X_Road_Id="abc-123")).message_id == "abc-123"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("X-Road-Client", "KE/GOV"),
        ("X-Road-Client", "KE/GOV/7001/sub/extra"),
        ("X-Road-Client", "KE/GOV/70:01/sub"),
        ("X-Road-Client", "KE/GOV//sub"),
        ("X-Road-Id", "has space"),
        ("X-Road-Id", "x" * 256),
        ("X-Road-UserId", "tab\there"),
        ("X-Road-Issue", "é-latin-1"),
        ("X-Road-Issue", "i" * 1025),
    ],
)
def test_a_bad_header_is_named_and_its_value_never_repeated(name: str, value: str) -> None:
    with pytest.raises(EnvelopeError) as raised:
        read([(name.lower().encode(), value.encode("latin-1"))])

    [problem] = raised.value.problems
    assert problem.location == name
    assert value not in problem.message + raised.value.message


def test_a_header_given_twice_is_refused() -> None:
    twice = [(b"x-road-id", b"a1"), (b"x-road-id", b"a2")]

    with pytest.raises(DuplicateHeaderError):
        read(twice)


def test_a_system_must_name_itself_as_the_client() -> None:
    own = read(raw(X_Road_Client="KE/GOV/7001/border-office"))
    member = read(raw(X_Road_Client="KE/GOV/7001"))

    check_client(own, "border-office")
    for other in (own, member):
        with pytest.raises(ForbiddenError) as raised:
            check_client(other, "immigration-authority")
        assert raised.value.problems[0].location == "X-Road-Client"
