"""What every HTTP workload sends and must get back, so the generator and each server agree byte for byte.

Clients send ``REQUEST`` (a plain ``GET /`` over HTTP/1.1 keep-alive, the request wrk sends), one at
a time per connection. The handler awaits a simulated IO call of ``io_s`` seconds with the model's
own sleep (the "database call"), then answers ``200`` with ``body(size)`` and a ``Content-Length``.
The body is deterministic and has no short period, so a short, shifted or stale body fails the
generator's byte comparison. Servers listen on ``ECHO_HOST`` only.
"""

from __future__ import annotations

from dataclasses import dataclass

HTTP_PATH = "/"
REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
CONTENT_TYPE = "application/octet-stream"


def body(size: int) -> bytes:
    """The response body of ``size`` bytes: printable, and not periodic within 94 * 95 bytes."""
    return bytes(33 + (k * 7 + k // 94) % 94 for k in range(size))


def response_head(size: int) -> bytes:
    """The status line and headers the same-parser tier writes before ``body(size)``."""
    return f"HTTP/1.1 200 OK\r\nContent-Type: {CONTENT_TYPE}\r\nContent-Length: {size}\r\n\r\n".encode("ascii")


@dataclass(frozen=True)
class HttpApp:
    """What a server's handler does for every request: sleep ``io_s`` with the model's sleep, then send ``body``."""

    body: bytes
    io_s: float

    @classmethod
    def of(cls, body_size: int, io_ms: float) -> HttpApp:
        return cls(body(body_size), io_ms / 1000)

    @property
    def response(self) -> bytes:
        """The whole same-parser response (head and body), built once per server."""
        return response_head(len(self.body)) + self.body
