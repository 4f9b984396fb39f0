import pytest

from gateway.policy import PolicyEngine


@pytest.fixture(scope="session")
def engine() -> PolicyEngine:
    """The engine over the shipped policy, loaded once as in production."""
    return PolicyEngine()
