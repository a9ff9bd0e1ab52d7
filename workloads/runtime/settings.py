"""The names and accepted values of the peers' environment settings, in one place both sides read.

The peers (``workloads.peers``) act on them in their own processes; the harness checks them before a
session starts (``benchmarks.harness.settings``) without importing any peer.
"""

from __future__ import annotations

GENERATOR_ENV = "COROBENCH_GENERATOR"
GENERATOR_IMPLS = ("c", "python")
"""Which loop the load generators run: their C extension or the pure-Python fallback."""
GENERATOR_SLEEP_ENV = "COROBENCH_GENERATOR_SLEEP"
GENERATOR_SLEEP_VALUES = ("", "0", "1")
"""``1``: every peer sleeps while it waits; ``0`` or unset: they spin."""
