"""The example adapter passes the conformance kit, as any adapter's own tests would run it."""

from __future__ import annotations

import pytest
from adapters.kit.conformance import AdapterConformance

from hub_adapter_example import MaternityAdapter


class TestMaternityConformance(AdapterConformance):
    @pytest.fixture(scope="class")
    @classmethod
    def adapter(cls) -> MaternityAdapter:
        return MaternityAdapter()
