"""Tests of the built-in adapters, their mapping specs and code lists."""
