"""Benchmarks room: the pytest-benchmark tests and the parent side of the worker protocol."""
