"""A non-blocking listening socket, for the two schedulers of our own (greenlet hub, generators)."""

from __future__ import annotations

import socket

from workloads.specs.echo_data import ECHO_HOST, LISTEN_BACKLOG


def nonblocking_listener(backlog: int = LISTEN_BACKLOG) -> socket.socket:
    """A non-blocking TCP socket listening on ``ECHO_HOST`` at a port the kernel picks."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((ECHO_HOST, 0))
        sock.listen(backlog)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock
