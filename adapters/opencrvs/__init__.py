"""OpenCRVS: birth notifications out, registered births in."""

from adapters.opencrvs.adapter import OpenCrvsAdapter

__all__ = ["OpenCrvsAdapter"]
