"""The adapter kit: all an adapter imports besides the canonical model and the error tree."""
