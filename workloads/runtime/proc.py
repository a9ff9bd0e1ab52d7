"""Which processes belong to a process group, read from Linux ``/proc``.

Every child the suite starts leads its own process group, so "the worker" (or
"the server") is every process in that group: a model's pool children
included. Used by the worker's memory and CPU readings and by the harness's CPU and
memory readings of servers. CPU time comes from ``schedstat`` (nanoseconds on the CPU).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

PROC = Path("/proc")


def group_pids(pgid: int) -> list[int]:
    """Pids of the live processes whose process group is ``pgid`` (empty where /proc is missing)."""
    pids = []
    try:
        entries = list(PROC.iterdir())
    except OSError:
        return []
    for entry in entries:
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # after the command: state, ppid, pgrp, ...
        if int(fields[2]) == pgid:
            pids.append(int(entry.name))
    return pids


def group_cpu_seconds(pgid: int) -> float:
    """CPU time used so far by every thread of every live process in the group.

    Threads that have exited are not counted: read around a round in which threads end, this loses
    their time. Inside the group, ``own_group_cpu_seconds`` keeps them for its own process.
    """
    return sum(_live_threads_cpu_ns(pid) for pid in group_pids(pgid)) / 1e9


def own_group_cpu_seconds() -> float:
    """CPU time of this process (every thread, those that exited included: ``CLOCK_PROCESS_CPUTIME_ID``)
    plus that of the other live processes of its group (a model's pool children)."""
    me = os.getpid()
    others_ns = sum(_live_threads_cpu_ns(pid) for pid in group_pids(os.getpgrp()) if pid != me)
    return time.process_time() + others_ns / 1e9


def _live_threads_cpu_ns(pid: int) -> int:
    try:
        tasks = list((PROC / str(pid) / "task").iterdir())
    except OSError:
        return 0
    total_ns = 0
    for task in tasks:
        try:
            total_ns += int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
    return total_ns
