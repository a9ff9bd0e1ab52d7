"""One asyncio loop per subinterpreter, each with its own GIL: the hybrid's shape without processes.

PEP 684 (3.12) gave each subinterpreter its own GIL; PEP 734 gave them a Python API, in the
standard library from 3.14 (``concurrent.interpreters``, ``concurrent.futures.InterpreterPoolExecutor``)
and backported to 3.12/3.13 by the ``interpreters-pep-734`` distribution (import name
``interpreters_backport``; on 3.12 its low-level module comes from ``interpreters-3-12``).

APIs and why:

- ``InterpreterPoolExecutor(max_workers=given_cores())``: the executor an expert
  reaches for, the counterpart of the hybrid's ``ProcessPoolExecutor``: each pool thread owns one
  subinterpreter (isolated config: own GIL, own module state), so CPU work in different slices runs
  in parallel on a GIL build. Calls are pickled into the interpreter and results pickled back.
- The pool is started in ``prepare()``, outside every window, and warmed: one ``warm_up`` call per
  thread (each holds its thread briefly, so the first calls find no idle thread and each starts
  one), which also makes every subinterpreter import asyncio and the slice code; the distinct
  thread ids prove every one started. That cost is ``pool_startup_s``.
- Each round submits one contiguous slice of the tasks per subinterpreter; each runs
  ``asyncio.run`` of a ``TaskGroup`` over its slice (``workloads.models.shared.asyncio_slices``) and
  returns its results; the window encloses submitting and collecting. timeout_cancel returns the
  indices that completed and the parent extends ``completed`` (objects are not shared).
- Echo client: one contiguous slice of the connections per subinterpreter, each on ``asyncio.run``
  of ``asyncio_slices.client_slice`` (``asyncio.open_connection`` streams, one task per
  connection); the crcs come back pickled, concatenated in connection order.
- Where the API is missing (3.11, or the backport not installed) the module raises
  ``ModelUnavailable`` at import with the reason and the fix; on 3.12/3.13 it first creates and
  closes one subinterpreter in a child process, because the 3.12 backport's C module can crash
  the interpreter (it segfaulted on CPython 3.12.1 here), which must skip the model, not kill the
  worker.
- ping_pong: not written in this round (a hand-off between two subinterpreters would go through
  ``interpreters.Queue``; registry: cannot).
- Echo server: one loop per subinterpreter, each occupying one pool thread for the server's life
  (``pool.submit(multiloop_server.serve_echo, port, control_path)``, ``given_cores()`` of them), each
  binding its own ``SO_REUSEPORT`` listener on the port the parent reserved with a bound,
  non-listening socket, and serving it with the suite's ``asyncio.Protocol`` echo
  (``workloads.models.shared.multiloop_server``: the code ``multiprocess_asyncio`` and
  ``asyncio_threads`` serve with; its docstring says why SO_REUSEPORT rather than one shared
  socket). Why not hand the subinterpreters one listening socket by its file descriptor
  (``socket.socket(fileno=fd)``): a socket object cannot cross between interpreters, and a second
  socket object on the same number would close the descriptor when it is collected or closed, under
  the parent's own socket (a double close that can hit an unrelated file opened meanwhile); a
  ``dup`` per interpreter avoids that but is still one shared listener, with its thundering herd
  and whole bursts accepted by one loop. With SO_REUSEPORT only a port number and the control
  socket's path cross, as picklable arguments. Start, stop and a loop that dies are handled as in
  the hybrid (control connections over a UNIX socket). Each subinterpreter has its own GIL, so
  ``parallel_loops`` is the number of loops; their threads are the worker's, so the harness's CPU
  reading of the worker's process group (every thread of every process) includes them.
- HTTP server (``http_server``): cannot (registry): the same-parser tier's httptools is a C module that
  refuses to load in a subinterpreter ("does not support loading in subinterpreters", httptools 0.9.0
  on 3.13.0), and the echo server's protocol has no HTTP parser of its own to fall back on.
"""

from __future__ import annotations

import importlib.util
import signal
import subprocess
import sys
import time
from concurrent.futures import Executor
from typing import Any

from workloads.models.shared import asyncio_slices, multiloop_server
from workloads.runtime.cores import given_cores
from workloads.runtime.errors import ModelUnavailable
from workloads.runtime.server_control import ServerControl
from workloads.runtime.window import Window
from workloads.specs.http_data import HttpApp

LEFTOVERS_UNOBSERVABLE = (
    "each slice runs asyncio.run inside a subinterpreter, which cancels what is left and closes its loop "
    "before it returns; nothing of a round outlives it where the worker could look"
)
BACKPORT = "interpreters-pep-734"
WARM_UP_HOLD_S = 0.05
WARM_UP_TIMEOUT_S = 120.0
BACKPORT_CHECK = "from interpreters_backport import interpreters; interpreters.create().close()"


def _executor_class() -> tuple[Any, str]:
    """``InterpreterPoolExecutor`` for this interpreter and where it comes from; ModelUnavailable if none."""
    version = ".".join(map(str, sys.version_info[:3]))
    if sys.version_info >= (3, 14):
        import concurrent.futures

        return concurrent.futures.InterpreterPoolExecutor, "concurrent.futures (stdlib)"  # type: ignore[attr-defined]
    if sys.version_info < (3, 12):
        raise ModelUnavailable(f"subinterpreters with their own GIL need Python 3.12+ (PEP 684); this is {version}")
    fix = f"{sys.executable} -m pip install {BACKPORT}" + (" interpreters-3-12" if sys.version_info < (3, 13) else "")
    if importlib.util.find_spec("interpreters_backport") is None:
        raise ModelUnavailable(f"the {BACKPORT} backport is not installed for Python {version}; fix: {fix}")
    # Importing the backport loads its C module on 3.12, which can crash the process: try it in a child first.
    check = subprocess.run([sys.executable, "-c", BACKPORT_CHECK], capture_output=True, text=True, timeout=60)
    if check.returncode != 0:
        status = f"signal {signal.Signals(-check.returncode).name}" if check.returncode < 0 else check.returncode
        detail = (check.stderr.strip().splitlines() or [""])[-1]
        raise ModelUnavailable(
            f"creating a subinterpreter with the {BACKPORT} backport failed on Python {version} "
            f"({status}{': ' + detail if detail else ''}); it worked on 3.13 here, and 3.14+ has it in the stdlib"
        )
    try:
        from interpreters_backport.concurrent.futures import InterpreterPoolExecutor
    except ImportError as exc:
        raise ModelUnavailable(f"the {BACKPORT} backport is not importable on {version} ({exc}); fix: {fix}") from None
    return InterpreterPoolExecutor, BACKPORT


EXECUTOR_CLASS, EXECUTOR_SOURCE = _executor_class()

_pool: Executor | None = None
_pool_size = 0
pool_startup_s: float | None = None
"""Seconds it took to start and warm the subinterpreter pool (not part of any timed window)."""
_server_facts: dict[str, object] = {}
"""The echo server's shape once one started (loops, listener), and each loop's connections once it stopped."""


def _get_pool() -> tuple[Executor, int]:
    global _pool, _pool_size, pool_startup_s
    if _pool is None:
        started = time.perf_counter()
        size = given_cores()
        pool: Executor = EXECUTOR_CLASS(max_workers=size)
        try:
            warmed = [pool.submit(asyncio_slices.warm_up, WARM_UP_HOLD_S) for _ in range(size)]
            threads = {future.result(timeout=WARM_UP_TIMEOUT_S) for future in warmed}
            if len(threads) != size:
                raise RuntimeError(f"warming the pool reached {len(threads)} of {size} subinterpreters")
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        _pool, _pool_size = pool, size
        pool_startup_s = time.perf_counter() - started
    return _pool, _pool_size


def prepare() -> None:
    """Start and warm the pool before the worker reads its idle memory: a fixed cost, not per task."""
    _get_pool()


def setup_metrics() -> dict[str, object]:
    return {} if pool_startup_s is None else {"pool_startup_s": pool_startup_s, **_server_facts}


def sleep_fanout(variant: str, n: int, delay: float, window: Window) -> list[tuple[int, float]]:
    pool, size = _get_pool()
    bounds = asyncio_slices.split(n, size)
    with window:
        futures = [pool.submit(asyncio_slices.run_sleep_fanout_slice, start, stop, delay) for start, stop in bounds]
        results = asyncio_slices.concatenate(futures)
    return results


def timeout_cancel(variant: str, delays: list[float], deadline: float, completed: list[int], window: Window) -> None:
    pool, size = _get_pool()
    parts = [(start, delays[start:stop]) for start, stop in asyncio_slices.split(len(delays), size)]
    with window:
        futures = [pool.submit(asyncio_slices.run_timeout_cancel_slice, start, part, deadline) for start, part in parts]
        completed.extend(asyncio_slices.concatenate(futures))


def cpu_mixed(variant: str, n: int, delay: float, work: int, window: Window) -> list[int]:
    pool, size = _get_pool()
    bounds = asyncio_slices.split(n, size)
    with window:
        futures = [pool.submit(asyncio_slices.run_cpu_mixed_slice, start, stop, delay, work) for start, stop in bounds]
        results = asyncio_slices.concatenate(futures)
    return results


NOT_WRITTEN = "not written yet for this model (registry: cannot)"


def ping_pong(variant: str, handoffs: int, window: Window) -> tuple[list[int], list[int]]:
    raise NotImplementedError(NOT_WRITTEN)


def tcp_echo_server(variant: str, control: ServerControl) -> None:
    if variant != "default":
        raise ValueError(f"unknown echo server variant {variant!r}; this model offers ('default',)")
    pool, size = _get_pool()
    _server_facts.clear()
    _server_facts.update(multiloop_server.server_facts(size, parallel=size))
    _server_facts["server_loop_connections"] = multiloop_server.serve_on_loops(
        control, size, lambda port, path: pool.submit(multiloop_server.serve_echo, port, path)
    )


def tcp_client(
    variant: str, port: int, connections: int, message_size: int, round_trips: int, window: Window
) -> list[int]:
    pool, size = _get_pool()
    bounds = asyncio_slices.split(connections, size)
    with window:
        futures = [
            pool.submit(asyncio_slices.run_client_slice, port, start, stop, message_size, round_trips)
            for start, stop in bounds
        ]
        crcs = asyncio_slices.concatenate(futures)
    return crcs


def http_server(variant: str, control: ServerControl, app: HttpApp) -> None:
    raise NotImplementedError(NOT_WRITTEN)
