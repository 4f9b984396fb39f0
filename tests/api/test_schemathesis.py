"""Schemathesis against a served gateway: generated requests, real answers, the document as judge.

Every operation of the served document is called with requests generated from it (valid ones
and invalid ones), as its caller would: the administrator, or for the submission the proGres
system. Each answer must be no server error, of a status and media type the document gives,
with a body and headers that fit it. The number of cases is bounded so the file runs in well
under a minute on two cores; how many ran is printed at the end of the session.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import hypothesis
import pytest
import schemathesis
from schemathesis import GenerationMode, checks

from gateway.config import Settings
from gateway.demo.flow import REGISTRATION, DemoEnvironment

MAX_EXAMPLES = 60
"""Cases per operation, valid and invalid ones together: about 2,000 over the 35 operations
(a hundred each took over two minutes, too much of the suite's fifteen)."""
FLOOR = 200
"""Fewer cases than this means the run tested much less than it seems to: a failure."""
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
    checks.negative_data_rejection,
    checks.ignored_auth,
]
REJECTIONS = [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429]
"""What counts as refusing invalid data: schemathesis's list, and 413 (a body over the limit)."""


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """No throttle: the generated 401s would soon make every answer a 429. A short floor for
    a specific request's denials: each waits for it, and what it hides is tested apart
    (tests/api/test_requests.py)."""
    return settings.model_copy(
        update={
            "auth_failure_limit": 1_000_000,
            "request_denial_floor_seconds": 0.02,
            "request_fetch_timeout_seconds": 0.01,
        }
    )


@dataclass
class Tally:
    """How many cases ran, per operation and per answer, and for how long."""

    cases: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    started: float = field(default_factory=time.monotonic)

    @property
    def total(self) -> int:
        return self.cases.total()

    def count(self, operation: str, status: int) -> None:
        self.cases[operation] += 1
        self.statuses[status] += 1

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        seconds = time.monotonic() - self.started
        answers = ", ".join(f"{status}: {n}" for status, n in sorted(self.statuses.items()))
        terminalreporter.write_sep("-", "schemathesis")
        terminalreporter.write_line(f"{self.total} cases in {seconds:.1f} s; answers {answers}")
        for label, count in sorted(self.cases.items()):
            terminalreporter.write_line(f"  {count:5d}  {label}")


@pytest.fixture
def tally(request: pytest.FixtureRequest) -> Iterator[Tally]:
    counted = Tally()
    request.config.pluginmanager.register(counted, "schemathesis-tally")
    yield counted
    assert counted.total >= FLOOR, f"only {counted.total} schemathesis cases ran"


SETTINGS = hypothesis.settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    database=None,  # nothing written to the working tree
    derandomize=True,  # the same cases every run: a failure is found again, never by chance
    suppress_health_check=list(hypothesis.HealthCheck),
)


def test_every_generated_request_gets_a_documented_answer(
    env: DemoEnvironment, tally: Tally
) -> None:
    """Generate valid and invalid requests for every operation of the served document.

    Each operation's cases come from its documented strategy (`APIOperation.as_strategy`),
    run by hypothesis; every operation runs, and every failure is reported.
    """
    admin = env.runtime.settings.resolved_admin_token()
    dpo = env.runtime.settings.resolved_dpo_token()
    config = schemathesis.Config.from_dict(
        {"checks": {"negative_data_rejection": {"expected-statuses": REJECTIONS}}}
    )
    schema = schemathesis.openapi.from_url(f"{env.gateway_url}/openapi.json", config=config)
    document = httpx.get(f"{env.gateway_url}/openapi.json").json()

    @schema.auth(refresh_interval=None)  # a token per case, never one cached for all
    class Credentials:
        """Each caller's own: proGres submits, the DPO reads its views, the admin the rest.

        Given through schemathesis's auth hook, so that it knows the credential is ours: a
        case it made invalid only by leaving the credential out is then not sent as valid.
        """

        def get(self, case: Any, context: Any) -> str:
            if (case.method, case.path) == ("POST", "/exchanges"):
                return env.credentials[REGISTRATION]
            return dpo if case.path.startswith("/dpo/") else admin

        def set(self, case: Any, data: str, context: Any) -> None:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    def call(case: Any) -> None:
        answer = case.call_and_validate(checks=CHECKS)
        tally.count(case.operation.label, answer.status_code)

    failures = []
    for path, methods in document["paths"].items():
        for method in methods:
            operation = schema[path][method.upper()]
            strategy = operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(
                GenerationMode.NEGATIVE
            )
            test = SETTINGS(hypothesis.given(case=strategy)(call))
            try:
                test()
            # schemathesis reports its checks' failures as a BaseExceptionGroup
            except (Exception, BaseExceptionGroup) as failure:  # every operation runs
                failures.append(f"{operation.label}: {failure}")
    assert not failures, "\n\n".join(failures)
