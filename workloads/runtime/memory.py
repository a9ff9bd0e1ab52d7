"""Peak resident memory of the worker and any processes it started, per round (Linux ``/proc``).

``VmHWM`` (the high-water mark of resident memory) is reset by writing ``5``
to ``/proc/<pid>/clear_refs`` before a round, so the value read after the
round is that round's peak. The worker leads its own process group, so a model
that starts processes (``multiprocess_asyncio``'s pool) is measured with all
of them: each process's peak, summed. Where ``/proc`` is missing, the
functions return None and the memory metrics are left out rather than invented.
"""

from __future__ import annotations

import os

from workloads.runtime.proc import PROC as _PROC
from workloads.runtime.proc import group_pids


def _group_pids() -> list[int]:
    """This process and every live process in its process group."""
    return group_pids(os.getpgid(0)) or [os.getpid()]


def _sum_status_kib(field: str) -> int | None:
    total = None
    for pid in _group_pids():
        try:
            text = (_PROC / str(pid) / "status").read_text()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith(field + ":"):
                total = (total or 0) + int(line.split()[1])
    return total


def current_rss_bytes() -> int | None:
    kib = _sum_status_kib("VmRSS")
    return None if kib is None else kib * 1024


def peak_rss_bytes() -> int | None:
    kib = _sum_status_kib("VmHWM")
    return None if kib is None else kib * 1024


def reset_peak_rss() -> bool:
    """Start a new peak measurement; False where the kernel does not allow it."""
    reset_any = False
    for pid in _group_pids():
        try:
            (_PROC / str(pid) / "clear_refs").write_text("5")
            reset_any = True
        except OSError:
            continue
    return reset_any
