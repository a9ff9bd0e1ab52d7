"""glibc's allocator state: start every worker and peer as warm as a long-running service is.

asyncio's selector transport reads with ``recv(256 KiB)``. glibc serves a request that large with
``mmap`` (and the shrink to the bytes received with ``mremap``, the free with ``munmap``) as long as
its mmap threshold is at the 128 KiB default; once the process has freed one mmapped block larger
than the threshold, glibc raises the threshold to that block's size (``mallopt(3)``,
M_MMAP_THRESHOLD, "dynamic mmap threshold") and later 256 KiB buffers come from the heap. A fresh
interpreter is in the first ("cold") state; a service that has run for a while has almost always
freed some large block and is in the second ("warm") state. On this machine ``recv(256 KiB)`` with
1 KiB waiting cost 12-20 us cold and ~2 us warm (``python -m workloads.runtime.allocator`` measures
it). CPython issue 85451 (open) calls this a "process-layout-dependent allocator regime": whether a
benchmark sees it depends on what the process happened to allocate before.

So every worker and peer calls ``prepare()`` first thing in its ``main()``: it allocates and frees
one ``WARM_UP_BYTES`` block through libc's ``malloc``/``free``, which raises the threshold, unless
``COROBENCH_ALLOCATOR_STATE=cold`` asks for the fresh-process state (the ``*_cold_allocator``
variants, which show the cold cost as a finding of its own; ``hold_cold`` pins it with
``mallopt``: the mmap threshold and the trim threshold fixed at 128 KiB). ``state()`` then
observes, rather than assumes, which regime a 256 KiB request is in: it asks for one and reads
glibc's count of mmapped blocks (``mallinfo2().hblks``); it shrinks the block before freeing it, so
the probe itself never raises the threshold.
"""

from __future__ import annotations

import ctypes
import os
import platform
import socket
import statistics
import sys
import time

STATE_ENV = "COROBENCH_ALLOCATOR_STATE"
STATES = ("warm", "cold")
WARM_UP_BYTES = 4 * 1024 * 1024
"""Above the 128 KiB default threshold and below glibc's 32 MiB cap for the dynamic threshold."""
PROBE_BYTES = 256 * 1024
"""asyncio's ``max_size`` for a selector transport's ``recv``."""


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def _glibc() -> ctypes.CDLL | None:
    """The process's libc when it is glibc 2.33+ (which has ``mallinfo2``), else None."""
    if platform.libc_ver()[0] != "glibc":
        return None
    libc = ctypes.CDLL(None)
    if not hasattr(libc, "mallinfo2"):
        return None
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.realloc.restype = ctypes.c_void_p
    libc.realloc.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    libc.free.restype = None
    libc.free.argtypes = [ctypes.c_void_p]
    libc.mallinfo2.restype = _MallInfo2
    return libc


def wanted_state() -> str:
    wanted = os.environ.get(STATE_ENV, "warm")
    if wanted not in STATES:
        raise ValueError(f"{STATE_ENV}={wanted!r}; expected one of {', '.join(STATES)}")
    return wanted


def warm_up() -> None:
    """Allocate and free one block above the mmap threshold, so glibc raises the threshold past it."""
    libc = _glibc()
    if libc is None:
        return
    block = libc.malloc(WARM_UP_BYTES)
    if not block:
        raise MemoryError(f"malloc({WARM_UP_BYTES}) failed")
    ctypes.memset(block, 1, WARM_UP_BYTES)  # touch it, as a real buffer would be
    libc.free(block)


def state() -> str:
    """``warm`` if a 256 KiB request is served from the heap, ``cold`` if by mmap; ``unknown`` off glibc."""
    libc = _glibc()
    if libc is None:
        return "unknown"
    before = libc.mallinfo2().hblks
    block = libc.malloc(PROBE_BYTES)
    if not block:
        raise MemoryError(f"malloc({PROBE_BYTES}) failed")
    mmapped = libc.mallinfo2().hblks > before
    block = libc.realloc(block, 1)  # an mmapped block shrinks to one page: its free cannot raise the threshold
    libc.free(block)
    return "cold" if mmapped else "warm"


M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
"""``mallopt`` parameter numbers (glibc's malloc.h)."""
DEFAULT_MMAP_THRESHOLD = 128 * 1024


def hold_cold() -> None:
    """Fix glibc's mmap threshold at its 128 KiB default, which also turns off its dynamic raise.

    A fresh process is cold only until something it imports happens to free one large block (a big
    dict's old table, say): with asyncio, tornado and the harness imported, that happened in some
    workers and not others. Setting the threshold explicitly (``mallopt(3)``) keeps the cold cells
    in the state they are named for, whatever the model imports.
    """
    libc = _glibc()
    if libc is not None:
        libc.mallopt(M_MMAP_THRESHOLD, DEFAULT_MMAP_THRESHOLD)
        # A 256 KiB request that fits in the heap's free top is served from it, mmap threshold or not:
        # trimming the top back at the same size keeps such requests on the mmap path, as in a fresh process.
        libc.mallopt(M_TRIM_THRESHOLD, DEFAULT_MMAP_THRESHOLD)
        # The trim threshold acts only at the next free next to the top: a top already holding more than
        # 256 KiB free (imports that freed a large block before this call) would still serve the request
        # from the heap, as a CI run saw once. Trim it now.
        libc.malloc_trim(0)


def prepare() -> str:
    """Put this process in the state ``COROBENCH_ALLOCATOR_STATE`` asks for (default warm); return the state seen."""
    if wanted_state() == "warm":
        warm_up()
    else:
        hold_cold()
    return state()


def recv_cost_us(samples: int = 2000, waiting: int = 1024) -> float:
    """Median microseconds of one ``recv(256 KiB)`` with ``waiting`` bytes queued on a socketpair."""
    left, right = socket.socketpair()
    payload = b"x" * waiting
    timings = []
    try:
        for _ in range(samples):
            left.send(payload)
            started = time.perf_counter()
            data = right.recv(PROBE_BYTES)
            timings.append(time.perf_counter() - started)
            if len(data) != waiting:
                raise RuntimeError(f"socketpair delivered {len(data)} of {waiting} bytes at once")
    finally:
        left.close()
        right.close()
    return statistics.median(timings) * 1e6


def main() -> int:
    """Measure ``recv(256 KiB)`` in this fresh process, then after ``warm_up``: the cold and the warm cost."""
    for waiting in (1024, 16 * 1024):
        print(f"{waiting // 1024} KiB waiting, state {state()}: recv(256 KiB) {recv_cost_us(waiting=waiting):.1f} us")
    warm_up()
    for waiting in (1024, 16 * 1024):
        print(f"{waiting // 1024} KiB waiting, state {state()}: recv(256 KiB) {recv_cost_us(waiting=waiting):.1f} us")
    return 0


if __name__ == "__main__":
    sys.exit(main())
