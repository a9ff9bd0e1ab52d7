"""How many cores the harness gives a worker, told at start-up rather than read from the mask.

The harness pins an echo cell's worker after starting it, so ``os.sched_getaffinity(0)`` read at
some moment says what the mask happens to be then, not what the cell gives the model. The harness
therefore names the cores in ``COROBENCH_CORES`` (comma-separated) when it starts the worker; a
model that sizes a pool (the hybrid: one process per core) reads ``given_cores()``.
"""

from __future__ import annotations

import os

CORES_ENV = "COROBENCH_CORES"


def given_cores() -> int:
    """The number of cores named in ``COROBENCH_CORES``; outside the harness, the cores this process may use."""
    named = [c for c in os.environ.get(CORES_ENV, "").split(",") if c.strip()]
    return len(named) if named else len(os.sched_getaffinity(0))


def cores_env(cores: set[int]) -> dict[str, str]:
    return {CORES_ENV: ",".join(str(c) for c in sorted(cores))}
