"""A requesting system's rate: `burst` at once, then `per_minute` a minute, each system alone."""

from __future__ import annotations

from gateway.requests.limits import TokenBuckets


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_one_more_as_each_token_comes_back() -> None:
    clock = Clock()
    buckets = TokenBuckets(per_minute=6, burst=3, clock=clock)  # a token every 10 s

    assert [buckets.take("uga-dra") for _ in range(3)] == [None, None, None]
    assert buckets.take("uga-dra") == 10
    clock.now += 4
    assert buckets.take("uga-dra") == 6  # a refused request takes nothing
    clock.now += 6
    assert buckets.take("uga-dra") is None
    assert buckets.take("uga-dra") == 10


def test_each_system_has_its_own_bucket_and_an_idle_one_fills_no_further_than_the_burst() -> None:
    clock = Clock()
    buckets = TokenBuckets(per_minute=60, burst=2, clock=clock)
    buckets.take("uga-dra")
    buckets.take("uga-dra")

    assert buckets.take("ssd-dnpi") is None
    clock.now += 3600
    assert [buckets.take("uga-dra") for _ in range(3)] == [None, None, 1]
