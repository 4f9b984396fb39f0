"""A worked example adapter: a health facility's maternity register (see README.md)."""

from hub_adapter_example.adapter import MaternityAdapter

__all__ = ["MaternityAdapter"]
