"""How a model's echo server talks to the harness while it serves.

The server calls ``listening(port)`` once its socket listens, then serves until ``stop_fd``
becomes readable (the model waits for that with its own primitive: asyncio ``loop.add_reader``,
gevent ``wait_read``, twisted ``addReader``, ...), closes every socket and returns. The model never
reads from ``stop_fd``: the worker reads the ``stop`` frame after the server has returned.
"""

from __future__ import annotations

from collections.abc import Callable


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
