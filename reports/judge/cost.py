"""What a result cost its side under test: the cores it used, and whether a win was bought with more of them.

Every cell saves ``cores_given`` (the cores the harness let its side under test use), ``cores_used`` (median
CPU seconds per second of round, summed over the side's threads and processes) and, for workloads timed
inside the worker, ``cpu_s_per_round`` (median CPU seconds a round). A model that finished a round sooner
by keeping two cores busy did not do the work more cheaply: per CPU second it may be slower. Here:

- ``used_more_cores(a, b)``: ``a`` kept clearly more cores busy than ``b`` (``MORE_CORES_RATIO`` and at least
  ``MORE_CORES_MARGIN`` of a core more), so a win of ``a`` over ``b`` is marked with both numbers;
- ``per_core_ratio(a, b)``: how many times fewer CPU seconds a round ``a`` spent than ``b`` (< 1: ``a`` is
  behind per core), the order a user with only busy cores to spare would see. Stdlib only.
"""

from __future__ import annotations

from reports.read.run import Result

MORE_CORES_RATIO = 1.25
MORE_CORES_MARGIN = 0.25
"""Below these, two cells used the same cores within what a round's CPU accounting can tell apart."""


def cores_used(result: Result) -> float | None:
    return result.metric("cores_used")


def used_more_cores(a: Result, b: Result) -> bool:
    """``a`` kept clearly more cores busy than ``b``."""
    mine, theirs = cores_used(a), cores_used(b)
    if mine is None or theirs is None:
        return False
    return mine > MORE_CORES_RATIO * theirs and mine - theirs >= MORE_CORES_MARGIN


def per_core_ratio(a: Result, b: Result) -> float | None:
    """``b``'s CPU seconds a round over ``a``'s: above 1, ``a`` did the round with less CPU."""
    mine, theirs = a.metric("cpu_s_per_round"), b.metric("cpu_s_per_round")
    if mine is None or theirs is None or mine <= 0 or theirs <= 0:
        return None
    return theirs / mine


def cores_text(a: Result, b: Result) -> str:
    """``1.9 vs 1.0 cores``: what both sides of a comparison kept busy."""
    return f"{cores_used(a) or 0:.1f} vs {cores_used(b) or 0:.1f} cores"


ONE_LOOP_SERVER = "ran with one loop because the server side had one core"
ONE_PROCESS_CLIENT = "ran with one process because the client side had one core"


def one_loop_note(result: Result) -> str | None:
    """Why a multi-core model's cell shows one loop, not its scaling: its side had one core; else None.

    A multi-loop echo server saves ``server_loops`` (one per core it was given); the hybrid's client saves its
    ``processes``. Where the side under test was given one core (a 2-core machine: its peer has the other) the
    cell measured one loop, and the report must say so beside the figure.
    """
    extra = result.extra
    if extra.get("server_loops") == 1 and extra.get("server_cores_given", extra.get("cores_given")) == 1:
        return ONE_LOOP_SERVER
    if result.workload == "tcp_client" and extra.get("processes") == 1 and extra.get("client_cores_given") == 1:
        return ONE_PROCESS_CLIENT
    return None
