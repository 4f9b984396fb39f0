"""An immigration authority's XML messages for individual documents."""

from adapters.immigration.adapter import ImmigrationAdapter

__all__ = ["ImmigrationAdapter"]
