"""A border-management / immigration-control system: referrals of persons met at a border."""

from adapters.border.adapter import BorderAdapter

__all__ = ["BorderAdapter"]
