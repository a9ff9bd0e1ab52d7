"""What every model's TCP echo code shares: the messages sent and the server control.

Messages are deterministic per connection, so the party that checks an echo can
compute what it must have received without keeping copies: connection ``i``
sends ``message(i, size)`` on every round trip.

``ServerControl`` is how a model's echo server talks to the harness: it calls
``listening(port)`` once its socket listens, then serves until ``stop_fd``
becomes readable (the model waits for that with its own primitive: asyncio
``loop.add_reader``, gevent ``wait_read``, twisted ``addReader``, ...), closes
every socket and returns. The model never reads from ``stop_fd``.
"""

from __future__ import annotations

import socket
import zlib
from collections.abc import Callable

ECHO_HOST = "127.0.0.1"
LISTEN_BACKLOG = 2048


def message(connection: int, size: int) -> bytes:
    """The message connection ``connection`` sends on every round trip."""
    pattern = bytes((connection * 7 + k) % 251 for k in range(251))
    repeats = size // len(pattern) + 1
    return (pattern * repeats)[:size]


def expected_crc(connection: int, size: int, round_trips: int) -> int:
    """crc32 of everything connection ``connection`` receives over ``round_trips`` echoes."""
    crc = 0
    one = message(connection, size)
    for _ in range(round_trips):
        crc = zlib.crc32(one, crc)
    return crc


def nonblocking_listener(backlog: int = LISTEN_BACKLOG) -> socket.socket:
    """A non-blocking TCP socket listening on ``ECHO_HOST`` at a port the kernel picks (for our own schedulers)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((ECHO_HOST, 0))
        sock.listen(backlog)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


class ServerControl:
    def __init__(self, stop_fd: int, announce: Callable[[int], None]) -> None:
        self.stop_fd = stop_fd
        self._announce = announce
        self.port: int | None = None

    def listening(self, port: int) -> None:
        """Tell the harness the server accepts connections on ``ECHO_HOST:port``."""
        if self.port is not None:
            raise RuntimeError("listening() was called twice")
        self.port = port
        self._announce(port)
