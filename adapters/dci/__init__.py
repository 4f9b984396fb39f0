"""A civil registry over the DCI CRVS API: search by birth registration number, live-birth
notifications."""

from adapters.dci.adapter import DciAdapter

__all__ = ["DciAdapter"]
