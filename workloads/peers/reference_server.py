"""The reference echo server every model's ``tcp_client`` talks to (fixed code).

Runs in its own process (``python -m workloads.peers.reference_server NAME REQ_FD REPLY_FD``),
pinned by the harness to a different core than the client under test. One
``epoll`` loop, non-blocking sockets, echoing whatever arrives; bytes that
cannot be sent at once wait in a per-connection buffer. The hello frame carries
the port; any frame on the request pipe (``exit``) stops it.
"""

from __future__ import annotations

import os
import select
import socket
import sys

from workloads.runtime import allocator
from workloads.runtime.protocol import write_frame
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

    def serve_until_readable(self, stop_fd: int) -> None:
        self._epoll.register(stop_fd, select.EPOLLIN)
        listener_fd = self.listener.fileno()
        while True:
            for fd, events in self._epoll.poll():
                if fd == stop_fd:
                    return
                if fd == listener_fd:
                    self._accept()
                elif events & select.EPOLLOUT:
                    self._flush(fd)
                else:
                    self._echo(fd)

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
    write_frame(reply_fd, {"ok": True, "pid": os.getpid(), "port": server.port, "allocator_state": allocator.state()})
    try:
        server.serve_until_readable(request_fd)
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
