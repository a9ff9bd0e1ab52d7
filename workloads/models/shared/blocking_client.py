"""One echo client connection written with plain blocking ``socket`` calls.

The same function serves three models, which is the point of two of them:
``threads`` runs it in one OS thread per connection, and ``gevent`` and
``eventlet`` run it in one greenlet per connection after monkey patching has
made every blocking call below cooperative. Only the module-level ``socket``
name is used, so it must be imported after patching (the worker patches first).
"""

from __future__ import annotations

import socket
import zlib

from workloads.specs.echo_data import ECHO_HOST, message

RECV_BUFFER_BYTES = 64 * 1024


def echo_round_trips(index: int, port: int, message_size: int, round_trips: int) -> int:
    """Connect, do ``round_trips`` closed-loop echoes of connection ``index``'s message; return the crc32."""
    payload = memoryview(message(index, message_size))  # a view: a partial sendall resends without copying
    buffer = memoryview(bytearray(min(message_size, RECV_BUFFER_BYTES) or 1))
    crc = 0
    # A plain socket and a numeric address: create_connection would resolve the host, which in
    # gevent goes through its resolver thread pool.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.connect((ECHO_HOST, port))
        for _ in range(round_trips):
            # The whole message goes out before the echo is read: safe while a message fits the
            # loopback socket buffers (several MiB), far above the suite's largest (100 KiB).
            sock.sendall(payload)
            remaining = message_size
            while remaining:
                received = sock.recv_into(buffer, min(remaining, len(buffer)))
                if not received:
                    raise ConnectionError(f"connection {index}: the server closed with {remaining} bytes unechoed")
                crc = zlib.crc32(buffer[:received], crc)
                remaining -= received
    return crc
