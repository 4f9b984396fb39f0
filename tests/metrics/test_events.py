"""The calls that move the counts: closed label sets, and nothing else gets into a label."""

from __future__ import annotations

import pytest
from prometheus_client import generate_latest

from gateway.errors import AuthenticationError, ParseError
from gateway.metrics import delivery_settled, exchange_decided
from gateway.metrics.events import PROCESS
from gateway.policy.reasons import REASON_WORDS
from tests.metrics.support import Samples, count, parse


def now() -> Samples:
    return parse(generate_latest(PROCESS).decode())


def test_reason_codes_outside_the_closed_set_are_counted_as_other() -> None:
    before = now()
    exchange_decided("denied", ["consent.missing", "consent.missing", "Achol Mabior"])
    exchange_decided("invalid", [ParseError.reason])
    exchange_decided("invalid", [AuthenticationError.reason])
    after = now()

    def moved(**labels: str) -> float:
        name = "gateway_exchange_reasons_total"
        return count(after, name, **labels) - count(before, name, **labels)

    assert moved(decision="denied", reason="consent.missing") == 1  # each code once
    assert moved(decision="denied", reason="other") == 1
    assert moved(decision="invalid", reason="invalid_message") == 1
    assert moved(decision="invalid", reason="unauthenticated") == 1
    assert not any("Achol" in v for (_, labels) in after for _, v in labels)


def test_every_policy_reason_code_is_its_own_label() -> None:
    before = now()
    for reason in REASON_WORDS:
        exchange_decided("denied", [reason])
    after = now()
    name = "gateway_exchange_reasons_total"
    for reason in REASON_WORDS:
        labels = {"decision": "denied", "reason": reason}
        assert count(after, name, **labels) - count(before, name, **labels) == 1, reason


def test_a_settled_delivery_counts_its_attempt_time_and_tries() -> None:
    before = now()
    delivery_settled("crvs-national", "retry", attempts=1, seconds=10.0)
    delivery_settled("crvs-national", "delivered", attempts=2, seconds=0.02)
    delivery_settled("embassy-ssd", "dead", attempts=12, seconds=0.5)
    after = now()

    def moved(name: str, **labels: str) -> float:
        return count(after, name, **labels) - count(before, name, **labels)

    attempts = "gateway_delivery_attempts_total"
    assert moved(attempts, destination="crvs-national", outcome="retry") == 1
    assert moved(attempts, destination="crvs-national", outcome="delivered") == 1
    assert moved(attempts, destination="embassy-ssd", outcome="dead") == 1
    assert moved("gateway_delivery_seconds_count", destination="crvs-national") == 2
    seconds = moved("gateway_delivery_seconds_sum", destination="crvs-national")
    assert seconds == pytest.approx(10.02)
    tries = "gateway_delivery_attempts_per_message"
    assert moved(f"{tries}_count", outcome="delivered") == 1  # a retry is not settled yet
    assert moved(f"{tries}_bucket", outcome="delivered", le="2.0") == 1
    assert moved(f"{tries}_bucket", outcome="delivered", le="1.0") == 0
    assert moved(f"{tries}_sum", outcome="dead") == 12
    assert moved(f"{tries}_count", outcome="retry") == 0


@pytest.mark.parametrize(
    ("destination", "outcome"),
    [("crvs-national", "lost"), ("Achol Mabior", "delivered"), ("", "dead")],
)
def test_a_label_that_is_not_of_its_set_is_a_bug(destination: str, outcome: str) -> None:
    before = now()
    with pytest.raises(ValueError):
        delivery_settled(destination, outcome, attempts=1, seconds=0.1)
    with pytest.raises(ValueError, match="not a decision"):
        exchange_decided("maybe")
    assert now() == before
