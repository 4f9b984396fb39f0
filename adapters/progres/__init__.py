"""UNHCR proGres v4: birth notifications in, civil-registration results out."""

from adapters.progres.adapter import ProgresAdapter

__all__ = ["ProgresAdapter"]
