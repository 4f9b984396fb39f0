"""The service's own start-up check: a fetch that could outlast the denial floor."""

from __future__ import annotations

import pytest

from gateway.config import Settings
from gateway.errors import ConfigurationError
from gateway.runtime import Runtime


def test_a_fetch_timeout_not_under_the_denial_floor_fails_at_start(settings: Settings) -> None:
    broken = settings.model_copy(
        update={"request_denial_floor_seconds": 0.3, "request_fetch_timeout_seconds": 0.3}
    )
    with pytest.raises(ConfigurationError) as caught:
        Runtime.build(broken)
    assert caught.value.problems[0].location == "GATEWAY_REQUEST_FETCH_TIMEOUT_SECONDS"
