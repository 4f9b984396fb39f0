"""Benchmarks: figures printed next to a baseline measured in the same run."""
