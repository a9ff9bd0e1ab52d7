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

``threading.stack_size`` is left at the default: measured on the 2-core VM
(sleep fan-out, 10 ms, N=100/1000/10000), 64 KiB, 256 KiB and 1 MiB stacks were
all within the noise of the default 8 MiB (stacks are reserved, not touched), so
shrinking them would add a recursion risk for no measurable gain.
"""

from __future__ import annotations

import errno
import selectors
import socket
import threading
import time
import zlib

from workloads.echo_support import ECHO_HOST, LISTEN_BACKLOG, ServerControl, message
from workloads.window import Window

ECHO_VARIANTS: tuple[str, ...] = ("default",)

RECV_BUFFER_BYTES = 1 << 16
STOP_JOIN_TIMEOUT_S = 5.0
_ACCEPT_RETRY_ERRNOS = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}


# -- sleep fan-out --------------------------------------------------------------


def _sleep_and_store(results: list[int], index: int, delay: float) -> None:
    time.sleep(delay)
    results[index] = index


def sleep_fanout(n: int, delay: float, window: Window) -> list[int]:
    results = [-1] * n
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
        payload = message(index, message_size)
        buffer = bytearray(min(message_size, RECV_BUFFER_BYTES) or 1)
        view = memoryview(buffer)
        crc = 0
        with socket.create_connection((ECHO_HOST, port)) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for _ in range(round_trips):
                sock.sendall(payload)
                remaining = message_size
                while remaining:
                    received = sock.recv_into(buffer, min(remaining, len(buffer)))
                    if not received:
                        raise ConnectionError(f"connection {index}: the server closed before the whole echo arrived")
                    crc = zlib.crc32(view[:received], crc)
                    remaining -= received
        crcs[index] = crc
    except BaseException as exc:
        errors.append(exc)


def tcp_client(port: int, connections: int, message_size: int, round_trips: int, window: Window) -> list[int]:
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
