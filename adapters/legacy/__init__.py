"""A retired offline registration tool's export (CSV or JSON lines), one row at a time."""

from adapters.legacy.adapter import LegacyRegistrationAdapter

__all__ = ["LegacyRegistrationAdapter"]
