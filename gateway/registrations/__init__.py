"""Multiple registration: persons who match one registered before are flagged, never merged."""
