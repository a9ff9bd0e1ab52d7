"""One OS thread per task: the baseline everybody asks about.

APIs and why:

- ``threading.Thread`` + ``Thread.join`` for every task and connection: the
  stdlib's thread-per-task form, blocking calls in each thread, the GIL released
  while a thread sleeps or waits on a socket. Each thread writes its result into
  its own slot of a preallocated list (a plain list item store needs no lock and
  no queue), and the caller joins every thread.
- ``time.sleep`` is the task's sleep (a real ``clock_nanosleep`` per thread).
- Echo server: blocking sockets, one accept thread and one thread per connection
  (``recv_into`` a per-connection buffer, ``sendall`` the bytes back). The calling
  thread waits for ``control.stop_fd`` with ``selectors``, then wakes every blocked
  thread with ``socket.shutdown(SHUT_RDWR)`` (a blocked ``accept`` fails, a blocked
  ``recv`` returns EOF, a blocked ``sendall`` fails) and joins them with a bound.
  Sockets are closed only by their owning thread, or after it was joined, so a
  descriptor is never closed while another thread still blocks on it.
- Echo client: one thread per connection, ``socket.create_connection``,
  ``sendall`` then ``recv_into`` until the whole echo arrived. ``sendall`` of a
  whole message before reading is safe while a message fits in the loopback
  socket buffers (several MiB by default on Linux); far larger messages would need
  a second thread per connection to read while writing.
- timeout_cancel: a thread cannot be cancelled from outside (no async exceptions
  in the stdlib), so cancellation is cooperative, the way threaded code does it:
  the task's "sleep" is ``cancel.wait(delay)`` on its own ``threading.Event``,
  and it runs its completion code only if that wait timed out. One watchdog
  thread sets each task's event at its deadline: ``deadline`` seconds after the
  task armed it when it started running, so the timeout is per task, like
  ``asyncio.timeout`` entered in a task. All deadlines share one timeout and are
  queued under a lock together with the clock reading, so they arrive sorted: a
  ``queue.SimpleQueue`` is the watchdog's whole timer queue. A task that
  completes sets its event too, so the watchdog never waits on a task that
  already finished. Arming in the spawning thread instead (deadline from spawn)
  once cancelled an early task at N=1000 on the loaded VM: a new thread can wait
  tens of ms for the GIL before it runs. Alternatives: one ``threading.Timer``
  per task doubles the threads and was slower; one shared ``Timer`` for the whole
  fan-out (a group deadline from the first spawn) cancelled early tasks wrongly
  at N=1000 already, because spawning threads takes longer than the deadline.
  Figures in MEASUREMENTS.md.
- cpu_mixed: a thread per task, ``time.sleep`` then the pure-Python ``burn``;
  the burns serialise on the GIL, which is what this workload shows.
- ping_pong: two threads (started inside the window, then joined) hand the
  token over a pair of unbounded queues; each ``get`` blocks in the kernel on a
  lock until the other side's ``put`` releases it, so every hand-off is a futex
  wake-up plus a GIL hand-over between OS threads. The side code is shared
  with gevent and eventlet (``shared/queue_ping_pong.py``). Two variants:
  ``queue`` (default), ``queue.Queue``, what most threaded code uses; its
  ``get`` waits on a ``Condition``, which allocates a fresh lock per wait and
  takes the queue's mutex again after waking. ``simple_queue``,
  ``queue.SimpleQueue`` (C, one lock, no task tracking), the stdlib's lean
  hand-off, usually cheaper per hand-off, though the load and where the
  scheduler puts the two threads weigh as much as the queue class (figures in
  MEASUREMENTS.md).

``threading.stack_size`` is left at the default: smaller stacks measured within
the noise of the default 8 MiB (stacks are reserved, not touched; MEASUREMENTS.md),
so shrinking them would add a recursion risk for no measurable gain.

HTTP (``http_server``, ``workloads.models.http_threads``): the stdlib's ``http.server.ThreadingHTTPServer``
(HTTP/1.1 keep-alive, no access log), or the same parser (httptools) on the echo server's thread per connection.
"""

from __future__ import annotations

import errno
import queue
import selectors
import socket
import threading
import time

from workloads.models.http_threads import http_server as http_server
from workloads.models.shared import queue_ping_pong
from workloads.models.shared.blocking_client import echo_round_trips
from workloads.runtime.server_control import ServerControl
from workloads.runtime.window import Window
from workloads.specs.cpu_work import burn
from workloads.specs.echo_data import ECHO_HOST, LISTEN_BACKLOG
from workloads.specs.ping_pong import exchanges

ECHO_VARIANTS: tuple[str, ...] = ("default",)

RECV_BUFFER_BYTES = 1 << 16
STOP_JOIN_TIMEOUT_S = 5.0
_ACCEPT_RETRY_ERRNOS = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}


def leftovers() -> dict[str, int]:
    """Threads still alive besides the worker's main thread."""
    return {"threads": threading.active_count() - 1}


# -- sleep fan-out --------------------------------------------------------------


def _sleep_and_store(results: list[tuple[int, float]], index: int, delay: float) -> None:
    started = time.perf_counter()
    time.sleep(delay)
    results[index] = (index, time.perf_counter() - started)


def sleep_fanout(variant: str, n: int, delay: float, window: Window) -> list[tuple[int, float]]:
    results = [(-1, 0.0)] * n
    with window:
        threads = [threading.Thread(target=_sleep_and_store, args=(results, i, delay)) for i in range(n)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return results


# -- echo server ----------------------------------------------------------------


class _EchoServer:
    """An accept thread plus a thread per connection; ``stop`` wakes and joins them all."""

    def __init__(self, listener: socket.socket) -> None:
        self._listener = listener
        self._lock = threading.Lock()
        self._stopping = False
        self._connections: dict[socket.socket, threading.Thread] = {}
        self._acceptor = threading.Thread(target=self._accept_loop, name="echo-accept", daemon=True)

    def start(self) -> None:
        self._acceptor.start()

    def _accept_loop(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError as exc:
                if self._stopping:
                    return
                if exc.errno in _ACCEPT_RETRY_ERRNOS:
                    time.sleep(0.01)  # out of descriptors or memory: back off, keep serving the others
                continue  # ECONNABORTED and friends: the client gave up before we accepted
            with self._lock:
                if self._stopping:
                    conn.close()
                    return
                thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
                self._connections[conn] = thread
                thread.start()

    def _serve(self, conn: socket.socket) -> None:
        buffer = bytearray(RECV_BUFFER_BYTES)
        view = memoryview(buffer)
        try:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            while received := conn.recv_into(buffer):
                conn.sendall(view[:received])
        except OSError:
            pass  # reset, broken pipe, or woken by stop(): this connection ends, the server goes on
        finally:
            with self._lock:
                self._connections.pop(conn, None)
            conn.close()

    def stop(self) -> None:
        deadline = time.monotonic() + STOP_JOIN_TIMEOUT_S
        with self._lock:
            self._stopping = True
            for conn in self._connections:
                _shutdown_quietly(conn)
            handlers = list(self._connections.values())
        _shutdown_quietly(self._listener)  # a blocked accept() fails with EINVAL on Linux
        self._acceptor.join(max(0.0, deadline - time.monotonic()))
        for thread in handlers:
            thread.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            leftovers = list(self._connections)
        for conn in leftovers:  # only if a handler missed the deadline: close it anyway
            conn.close()
        if not self._acceptor.is_alive():
            self._listener.close()


def _shutdown_quietly(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already disconnected


def tcp_echo_server(variant: str, control: ServerControl) -> None:
    if variant not in ECHO_VARIANTS:
        raise ValueError(f"unknown echo server variant {variant!r}; this model offers {ECHO_VARIANTS}")
    listener = socket.create_server((ECHO_HOST, 0), backlog=LISTEN_BACKLOG)
    server = _EchoServer(listener)
    try:
        server.start()
    except BaseException:
        listener.close()
        raise
    try:
        control.listening(listener.getsockname()[1])
        with selectors.DefaultSelector() as selector:
            selector.register(control.stop_fd, selectors.EVENT_READ)
            while not selector.select():
                pass
    finally:
        server.stop()


# -- echo client ----------------------------------------------------------------


def _run_connection(
    port: int, index: int, message_size: int, round_trips: int, crcs: list[int], errors: list[BaseException]
) -> None:
    try:
        crcs[index] = echo_round_trips(index, port, message_size, round_trips)
    except BaseException as exc:
        errors.append(exc)


def tcp_client(
    variant: str, port: int, connections: int, message_size: int, round_trips: int, window: Window
) -> list[int]:
    crcs = [0] * connections
    errors: list[BaseException] = []
    with window:
        threads = [
            threading.Thread(target=_run_connection, args=(port, i, message_size, round_trips, crcs, errors))
            for i in range(connections)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    if errors:
        raise errors[0]
    return crcs


# -- timeout_cancel -------------------------------------------------------------


class _Watchdog:
    """One thread that sets each armed task's event when the task's deadline passes.

    Every deadline is ``timeout`` seconds after its ``arm`` call, and a lock makes
    reading the clock and queueing one step, so deadlines are queued in order and
    a FIFO is a complete timer queue.
    """

    def __init__(self, timeout: float) -> None:
        self._timeout = timeout
        self._arming = threading.Lock()
        self._armed: queue.SimpleQueue[tuple[float, threading.Event] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="timeout-watchdog")

    def start(self) -> None:
        self._thread.start()

    def arm(self) -> threading.Event:
        """A fresh cancel event, set by the watchdog ``timeout`` seconds from now."""
        cancel = threading.Event()
        with self._arming:
            self._armed.put((time.monotonic() + self._timeout, cancel))
        return cancel

    def _run(self) -> None:
        while (armed := self._armed.get()) is not None:
            expires, cancel = armed
            if not cancel.wait(expires - time.monotonic()):  # returns at once if the task already completed
                cancel.set()

    def stop(self) -> None:
        """Wait until every armed deadline has passed or its task completed, then end the thread."""
        self._armed.put(None)
        self._thread.join()


def _race_deadline(index: int, delay: float, watchdog: _Watchdog, completed: list[int]) -> None:
    cancel = watchdog.arm()  # the timeout starts when the task runs, as asyncio.timeout entered in a task does
    if not cancel.wait(delay):  # the wait timed out: the "IO" finished before the deadline
        completed.append(index)
        cancel.set()  # settled: the watchdog need not wait for this deadline


def timeout_cancel(variant: str, delays: list[float], deadline: float, completed: list[int], window: Window) -> None:
    with window:
        watchdog = _Watchdog(deadline)
        watchdog.start()
        try:
            threads = [
                threading.Thread(target=_race_deadline, args=(i, delay, watchdog, completed))
                for i, delay in enumerate(delays)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        finally:
            watchdog.stop()


# -- cpu_mixed ------------------------------------------------------------------


def _io_then_cpu(results: list[int], index: int, delay: float, work: int) -> None:
    time.sleep(delay)
    results[index] = burn(work, index)


def cpu_mixed(variant: str, n: int, delay: float, work: int, window: Window) -> list[int]:
    results = [0] * n
    with window:
        threads = [threading.Thread(target=_io_then_cpu, args=(results, i, delay, work)) for i in range(n)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return results


# -- ping_pong --------------------------------------------------------------------


PING_PONG_QUEUES: dict[str, type[queue.Queue[int]] | type[queue.SimpleQueue[int]]] = {
    "queue": queue.Queue,
    "simple_queue": queue.SimpleQueue,
}


def ping_pong(variant: str, handoffs: int, window: Window) -> tuple[list[int], list[int]]:
    if variant not in PING_PONG_QUEUES:
        raise ValueError(f"unknown ping_pong variant {variant!r}; this model offers {tuple(PING_PONG_QUEUES)}")
    make_queue = PING_PONG_QUEUES[variant]
    to_pong, to_ping = make_queue(), make_queue()
    ping_tokens: list[int] = []
    pong_tokens: list[int] = []
    sides = exchanges(handoffs), to_pong, to_ping
    with window:
        threads = [
            threading.Thread(target=queue_ping_pong.pong, args=(*sides, pong_tokens), name="pong", daemon=True),
            threading.Thread(target=queue_ping_pong.ping, args=(*sides, ping_tokens), name="ping", daemon=True),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return ping_tokens, pong_tokens
