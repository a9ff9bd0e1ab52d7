"""Processes plus coroutines: one asyncio process per core, the hybrid model.

APIs and why:

- ``concurrent.futures.ProcessPoolExecutor`` with the ``"spawn"`` context and
  one process per core the harness gives this worker
  (``workloads.runtime.cores.given_cores``: named in ``COROBENCH_CORES`` when the
  worker starts, because the mask read after the harness pinned an echo cell's
  worker says only what the mask is, not what the cell gives; outside the
  harness, the cores this process may run on). ``processes`` is reported with
  every round and echo cell. Spawn gives every pool process a clean
  interpreter and never forks a process that has threads (the executor's own
  manager thread, or a monkey-patched hub). The pool's processes are children of
  the worker's main thread, which lives as long as the worker, so their
  ``PR_SET_PDEATHSIG`` fires exactly when the worker dies.
- The pool is created on first use, outside every timed window, and warmed
  before it is used: one ``warm_up`` call per process meets at a
  ``multiprocessing`` Barrier, so every process is started, has imported
  ``workloads.models.multiprocess_asyncio_model.children`` and run its initializer. Its cost is kept
  in ``pool_startup_s`` (seconds; ``None`` until the pool exists), which
  ``setup_metrics`` reports with every round once the pool exists. Each pool
  process starts in the warm allocator state every worker starts in
  (``workloads.runtime.allocator``, from ``init_child``).
- Child code lives in ``workloads.models.multiprocess_asyncio_model.children``, which has no
  import-time side effects (a pool created at import made every spawned child
  start a pool of its own, and it hung).
- Sleep fan-out: one contiguous slice of the N indices per process; each child
  runs ``asyncio.run`` of a ``TaskGroup`` of ``asyncio.sleep`` tasks over its
  slice and returns the indices. The window encloses submitting the slices and
  collecting every future's result.
- timeout_cancel: one contiguous slice of the tasks (and of their delays) per
  process; each child runs them with a per-task ``asyncio.timeout`` and returns
  the indices of the tasks that completed; the parent extends ``completed`` with
  them. Cancelled tasks end inside the children, before their futures resolve.
- cpu_mixed: one contiguous slice per process; each child sleeps and then burns
  per task and returns its slice's results; the parent concatenates them in task
  order.
- Echo server: one loop per pool process, each with its own ``SO_REUSEPORT``
  listener on one port, started and stopped by
  ``workloads.models.shared.multiloop_server`` (the code ``asyncio_threads`` and
  ``interpreters_asyncio`` serve with too; its docstring says why SO_REUSEPORT
  and not one shared socket): the parent reserves the port with a bound,
  non-listening socket, each child listens on it and connects to the parent's
  UNIX control socket, and a child that dies is an error, not a hang. Given one
  core (a 2-core machine: the load generator has the other) it is one process,
  one loop: the cell runs and says so (``server_loops``), it is not presented
  as the hybrid's scaling. ``server_loops``, ``listener`` and, once the server
  stopped, ``server_loop_connections`` (connections each child accepted) are
  reported by ``setup_metrics``.
- Echo client: one contiguous slice of the connections per process, each child
  runs its connections with asyncio streams and returns their crcs; the parent
  concatenates them in connection order.
- ping_pong: between two processes, the parent (ping) and one pool process
  (pong, ``children.pong``), over a UNIX stream socket (the local pipe
  asyncio serves as a stream; a pool process cannot inherit a
  ``multiprocessing.Pipe`` after it started): what handing work from one
  process to another costs this model. Both sides use asyncio streams
  (``open_unix_connection``, ``readexactly`` an 8-byte token, ``write`` the
  reply), so a hand-off is a ``write`` syscall, the other process's epoll
  wake-up and its ``read``, with both cores free to run one side each. The
  parent listens on a socket in a temporary directory, submits ``pong`` and
  accepts its connection before the window; the window covers the M
  hand-offs only (the child already runs), opened in the parent's coroutine
  before the first token is written and closed when the last one was read.
- HTTP server (``http_server``, variant ``httptools`` only: the same-parser tier): the echo server's
  shape, one ``SO_REUSEPORT`` loop per process, each serving the same-parser ``asyncio.Protocol``
  (``workloads.models.shared.asyncio_http.SameParserProtocol``) through
  ``multiloop_server.serve_http``; the ``HttpApp`` is pickled to every child. No own-server tier:
  uvicorn's multi-process mode (``--workers``) is its own supervisor, not this model's pool.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import socket
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor

from workloads.models.multiprocess_asyncio_model import children
from workloads.models.shared import multiloop_server
from workloads.models.shared.asyncio_slices import concatenate, split
from workloads.runtime.cores import given_cores
from workloads.runtime.server_control import ServerControl
from workloads.runtime.window import Window
from workloads.specs.http_data import HttpApp
from workloads.specs.http_server import SAME_PARSER
from workloads.specs.ping_pong import exchanges

ECHO_VARIANTS: tuple[str, ...] = ("default",)

WARM_UP_TIMEOUT_S = 60.0
PONG_RESULT_TIMEOUT_S = 30.0
HTTP_VARIANTS: tuple[str, ...] = (SAME_PARSER,)

LEFTOVERS_UNOBSERVABLE = (
    "the tasks run in the pool's processes, each slice in its own asyncio.run, which cancels whatever is "
    "still pending and closes its loop before it returns; the worker cannot look into its children"
)

_pool: ProcessPoolExecutor | None = None
_pool_size = 0
pool_startup_s: float | None = None
"""Seconds it took to start and warm the process pool (not part of any timed window)."""
_server_facts: dict[str, object] = {}
"""The echo server's shape once one started (loops, listener), and each loop's connections once it stopped."""


def _get_pool() -> tuple[ProcessPoolExecutor, int]:
    """The worker's process pool, started and warmed on first use; and its size."""
    global _pool, _pool_size, pool_startup_s
    if _pool is None:
        started = time.perf_counter()
        size = given_cores()
        context = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(
            max_workers=size,
            mp_context=context,
            initializer=children.init_child,
            initargs=(os.getpid(), context.Barrier(size)),
        )
        try:
            # While no warm_up call can return (they wait for each other), every submit finds no idle
            # process and spawns one, so these `size` calls start all `size` processes.
            warmed = [pool.submit(children.warm_up, WARM_UP_TIMEOUT_S) for _ in range(size)]
            pids = {future.result() for future in warmed}
            if len(pids) != size:
                raise RuntimeError(f"warming the pool reached {len(pids)} of {size} processes")
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        _pool, _pool_size = pool, size
        pool_startup_s = time.perf_counter() - started
    return _pool, _pool_size


def setup_metrics() -> dict[str, object]:
    """One-off costs outside every window, once the pool exists: its start-up and its size; with an echo
    server, its loops (one per process), its listener and, once it stopped, each loop's connections."""
    if pool_startup_s is None:
        return {}
    return {"pool_startup_s": pool_startup_s, "processes": _pool_size, **_server_facts}


def prepare() -> None:
    """Start and warm the pool before the worker reads its idle memory: the pool is a fixed cost, not per task."""
    _get_pool()


# -- sleep fan-out ----------------------------------------------------------------


def sleep_fanout(variant: str, n: int, delay: float, window: Window) -> list[tuple[int, float]]:
    pool, size = _get_pool()
    bounds = split(n, size)
    with window:
        futures = [pool.submit(children.sleep_slice, start, stop, delay) for start, stop in bounds]
        results = concatenate(futures)
    return results


# -- timeout_cancel -------------------------------------------------------------


def timeout_cancel(variant: str, delays: list[float], deadline: float, completed: list[int], window: Window) -> None:
    pool, size = _get_pool()
    parts = [(start, delays[start:stop]) for start, stop in split(len(delays), size)]
    with window:
        futures = [pool.submit(children.timeout_cancel_slice, start, part, deadline) for start, part in parts]
        completed.extend(concatenate(futures))


# -- cpu_mixed ------------------------------------------------------------------


def cpu_mixed(variant: str, n: int, delay: float, work: int, window: Window) -> list[int]:
    pool, size = _get_pool()
    bounds = split(n, size)
    with window:
        futures = [pool.submit(children.cpu_mixed_slice, start, stop, delay, work) for start, stop in bounds]
        results = concatenate(futures)
    return results


# -- echo server ----------------------------------------------------------------


def tcp_echo_server(variant: str, control: ServerControl) -> None:
    if variant not in ECHO_VARIANTS:
        raise ValueError(f"unknown echo server variant {variant!r}; this model offers {ECHO_VARIANTS}")
    pool, size = _get_pool()
    _serve_on_children(control, size, lambda port, path: pool.submit(multiloop_server.serve_echo, port, path))


def _serve_on_children(control: ServerControl, size: int, start: Callable[[int, str], Future[int]]) -> None:
    _server_facts.clear()
    _server_facts.update(multiloop_server.server_facts(size, parallel=size))
    _server_facts["server_loop_connections"] = multiloop_server.serve_on_loops(control, size, start)


# -- echo client ----------------------------------------------------------------


def tcp_client(
    variant: str, port: int, connections: int, message_size: int, round_trips: int, window: Window
) -> list[int]:
    pool, size = _get_pool()
    bounds = split(connections, size)
    with window:
        futures = [
            pool.submit(children.client_slice, port, start, stop, message_size, round_trips) for start, stop in bounds
        ]
        crcs = concatenate(futures)
    return crcs


# -- http_server ------------------------------------------------------------------


def http_server(variant: str, control: ServerControl, app: HttpApp) -> None:
    if variant not in HTTP_VARIANTS:
        raise ValueError(f"unknown http_server variant {variant!r}; this model offers {HTTP_VARIANTS}")
    pool, size = _get_pool()
    _serve_on_children(control, size, lambda port, path: pool.submit(multiloop_server.serve_http, port, path, app))


# -- ping_pong --------------------------------------------------------------------


async def _ping(connection: socket.socket, count: int, window: Window) -> list[int]:
    token_format = children.TOKEN
    received: list[int] = []
    reader, writer = await asyncio.open_unix_connection(sock=connection)
    try:
        with window:
            token = 1
            for _ in range(count):
                writer.write(token_format.pack(token))
                (token,) = token_format.unpack(await reader.readexactly(token_format.size))
                received.append(token)
                token += 1
    finally:
        writer.close()
    await writer.wait_closed()
    return received


def ping_pong(variant: str, handoffs: int, window: Window) -> tuple[list[int], list[int]]:
    pool, _ = _get_pool()
    count = exchanges(handoffs)
    with (
        tempfile.TemporaryDirectory(prefix="corobench-mpa-") as socket_dir,
        socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener,
    ):
        path = os.path.join(socket_dir, "ping_pong")
        listener.bind(path)
        listener.listen(1)
        pong = pool.submit(children.pong, path, count)
        try:
            (connection,) = multiloop_server.accept_loops(listener, [pong], 1)
        except BaseException:
            listener.close()  # a child still starting fails to connect, and ends
            raise
        with connection:
            ping_tokens = asyncio.run(_ping(connection, count, window))
        pong_tokens = pong.result(timeout=PONG_RESULT_TIMEOUT_S)
    return ping_tokens, pong_tokens
