"""A caller is authenticated before its body is read: a stranger's body is never read."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select

from gateway.demo.flow import CIVIL_REGISTRY, DemoEnvironment
from gateway.demo.server import ServedGateway
from gateway.store.models import ExchangeRecord


def test_a_stranger_is_answered_401_without_its_body_being_read(
    env: DemoEnvironment, served: ServedGateway
) -> None:
    headers = env.birth_headers(CIVIL_REGISTRY)
    headers["Authorization"] = "Bearer gw_not-a-credential"
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    url = urlsplit(served.url)
    with socket.create_connection((url.hostname, url.port), timeout=10) as stranger:
        stranger.sendall(
            b"POST /exchanges HTTP/1.1\r\nHost: gateway\r\n"
            + head.encode()
            + b'Content-Length: 4000\r\n\r\n{"individuals": ['  # and nothing more, ever
        )
        answer = stranger.recv(65536)  # would wait for the other 3,983 bytes if it read them

    assert answer.startswith(b"HTTP/1.1 401 ")
    with served.runtime.db.unit_of_work() as session:
        decisions = session.execute(select(ExchangeRecord.decision, ExchangeRecord.reasons)).all()
    assert [tuple(d) for d in decisions] == [("invalid", ["unauthenticated"])]


def test_a_credential_that_is_not_ascii_is_refused_not_a_server_error(
    env: DemoEnvironment, served: ServedGateway
) -> None:
    stranger = {"Authorization": "Bearer gw_caf\xe9".encode("latin-1")}
    for path in ("/systems", f"/exchanges/{'0' * 8}-0000-0000-0000-{'0' * 12}"):
        answer = httpx.get(served.url + path, headers=stranger)
        assert answer.status_code == 401, (path, answer.text)
