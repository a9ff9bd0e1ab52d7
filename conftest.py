"""Registers corobench's pytest plugin (``benchmarks/harness/plugin.py``) for every session in this repository."""

pytest_plugins = ["benchmarks.harness.plugin"]
