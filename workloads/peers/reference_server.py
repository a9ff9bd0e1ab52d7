"""The reference echo server every model's ``tcp_client`` talks to (fixed code).

Runs in its own process (``python -m workloads.peers.reference_server NAME REQ_FD REPLY_FD``),
pinned by the harness to a different core than the client under test. One
``epoll`` loop, non-blocking sockets, echoing whatever arrives; bytes that
cannot be sent at once wait in a per-connection buffer. The hello frame carries
the port. Requests on the pipe: ``stats`` answers with the seconds spent
waiting so far (``wait_s``); ``exit``, or the pipe closing, stops it.

Like the load generators it spins on a non-blocking poll instead of sleeping
(``workloads.peers.waiting`` says why: a sleeping peer is woken by the side under
test's own ``send()``, which charged the client under test an inter-processor
interrupt per echo on this VM). Time from the end of its last piece of work to an
empty poll is waiting; the harness reads ``wait_s`` around each round and counts
only the rest of the server's CPU as work.
"""

from __future__ import annotations

import os
import select
import socket
import sys
import time

from workloads.peers import waiting
from workloads.runtime import allocator
from workloads.runtime.protocol import read_frame, write_frame
from workloads.runtime.serve import die_with_parent, raise_open_files_limit
from workloads.specs.echo_data import ECHO_HOST, LISTEN_BACKLOG

RECV_BYTES = 64 * 1024  # a 256 KiB recv() buffer costs ~15 us per call to allocate


class ReferenceServer:
    def __init__(self) -> None:
        self.listener = socket.create_server((ECHO_HOST, 0), backlog=LISTEN_BACKLOG)
        self.listener.setblocking(False)
        self.port: int = self.listener.getsockname()[1]
        self._epoll = select.epoll()
        self._epoll.register(self.listener.fileno(), select.EPOLLIN)
        self._clients: dict[int, socket.socket] = {}
        self._pending: dict[int, bytes] = {}
        self.waited_s = 0.0
        """Seconds spent polling with nothing to do (spinning only), since start."""

    def serve(self, request_fd: int, reply_fd: int, spin: bool) -> None:
        """Echo until ``exit`` (or the pipe closes); answer ``stats`` with the waiting so far."""
        self._epoll.register(request_fd, select.EPOLLIN)
        listener_fd = self.listener.fileno()
        timeout = 0.0 if spin else -1.0
        clock = time.perf_counter
        idle_from = clock()
        while True:
            ready = self._epoll.poll(timeout)
            if not ready:  # spinning, and nothing has arrived yet
                now = clock()
                self.waited_s += now - idle_from
                idle_from = now
                continue
            for fd, events in ready:
                if fd == request_fd:
                    if not self._answer(request_fd, reply_fd):
                        return
                elif fd == listener_fd:
                    self._accept()
                elif events & select.EPOLLOUT:
                    self._flush(fd)
                else:
                    self._echo(fd)
            idle_from = clock()

    def _answer(self, request_fd: int, reply_fd: int) -> bool:
        """Handle one request; False when it asks the server to stop."""
        try:
            request = read_frame(request_fd)
        except EOFError:
            return False
        if request.get("op") == "stats":
            write_frame(reply_fd, {"ok": True, "wait_s": self.waited_s})
            return True
        if request.get("op") != "exit":
            write_frame(reply_fd, {"ok": False, "error": f"unknown request {request.get('op')!r}"})
            return True
        return False

    def close(self) -> None:
        for sock in self._clients.values():
            sock.close()
        self.listener.close()
        self._epoll.close()

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except BlockingIOError:
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setblocking(False)
            self._clients[sock.fileno()] = sock
            self._epoll.register(sock.fileno(), select.EPOLLIN)

    def _echo(self, fd: int) -> None:
        sock = self._clients[fd]
        try:
            data = sock.recv(RECV_BYTES)
        except ConnectionError:
            data = b""
        if not data:
            self._drop(fd)
            return
        self._send(fd, data)

    def _flush(self, fd: int) -> None:
        self._send(fd, self._pending.pop(fd), waiting_to_write=True)

    def _send(self, fd: int, data: bytes, waiting_to_write: bool = False) -> None:
        """Send what the socket takes; park the rest and stop reading until it drains."""
        try:
            sent = self._clients[fd].send(data)
        except BlockingIOError:
            sent = 0
        except ConnectionError:
            self._drop(fd)
            return
        if sent < len(data):
            self._pending[fd] = data[sent:]
            if not waiting_to_write:
                self._epoll.modify(fd, select.EPOLLOUT)
        elif waiting_to_write:
            self._epoll.modify(fd, select.EPOLLIN)

    def _drop(self, fd: int) -> None:
        self._epoll.unregister(fd)
        self._pending.pop(fd, None)
        self._clients.pop(fd).close()


def main(argv: list[str]) -> int:
    allocator.prepare()  # the warm state every worker starts in (workloads.runtime.allocator)
    die_with_parent()
    raise_open_files_limit()
    request_fd, reply_fd = int(argv[2]), int(argv[3])
    server = ReferenceServer()
    spin = waiting.spins()
    write_frame(
        reply_fd,
        {
            "ok": True,
            "pid": os.getpid(),
            "port": server.port,
            "allocator_state": allocator.state(),
            "wait": "spin" if spin else "sleep",
        },
    )
    try:
        server.serve(request_fd, reply_fd, spin)
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
