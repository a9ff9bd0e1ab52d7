"""CPU time, memory and core pinning of a whole process group, read from Linux ``/proc``.

A model's server may be one process with many threads (threads), or several
processes (multiprocess_asyncio); the harness starts each helper in its own
process group, so "the server" is every task of every process in that group.
CPU time (``workloads.runtime.proc.group_cpu_seconds``, shared with the worker) comes from
``schedstat`` (nanoseconds on the CPU), which is far finer than the 10 ms ticks of
``/proc/<pid>/stat`` over a 0.2 s round.
"""

from __future__ import annotations

import os

from workloads.runtime.proc import PROC, group_cpu_seconds, group_pids

__all__ = ["group_cpu_seconds", "group_rss_bytes", "pin_group", "split_cores"]


def group_rss_bytes(pgid: int, field: str = "VmRSS") -> int:
    """Sum of ``field`` (VmRSS now, or VmHWM the peak) over the group's processes."""
    total_kib = 0
    for pid in group_pids(pgid):
        try:
            status = (PROC / str(pid) / "status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith(field + ":"):
                total_kib += int(line.split()[1])
    return total_kib * 1024


def pin_group(pgid: int, cores: set[int]) -> None:
    """Restrict every thread of every process of the group (and what they start later) to ``cores``.

    ``sched_setaffinity`` takes a thread id (``sched_setaffinity(2)``): given a process's pid it pins only the
    main thread, so threads a model started before the harness pinned it (``asyncio_threads``' loops, the
    subinterpreter pool's threads) would keep running on the peer's core. Each thread is pinned by its id.
    """
    for pid in group_pids(pgid):
        for tid in _thread_ids(pid):
            try:
                os.sched_setaffinity(tid, cores)
            except (ProcessLookupError, PermissionError):
                pass


def _thread_ids(pid: int) -> list[int]:
    try:
        return [int(task.name) for task in (PROC / str(pid) / "task").iterdir()]
    except OSError:
        return []


def split_cores() -> tuple[set[int], set[int]] | None:
    """(cores of the side under test, cores of its peer), or None on a single-CPU machine.

    The peer (load generator, reference server) is one process with one thread: it gets one core;
    the side under test gets every other core, so a model that spreads over processes can use them.
    """
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        return None
    return set(cores[:-1]), {cores[-1]}
