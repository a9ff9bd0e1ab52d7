"""The bytes every TCP workload sends, so whoever checks an echo can compute what it must receive.

Messages are deterministic per connection: connection ``i`` sends ``message(i, size)`` on every
round trip, so the side that checks keeps no copies. Every server listens on ``ECHO_HOST`` only, and
every client connects to it: loopback, or the one address ``--bind`` names when the peers run on another
host (``--peer-host``), which the harness passes to the servers under test and to the remote peers in
``COROBENCH_BIND``.
"""

from __future__ import annotations

import os
import zlib

BIND_ENV = "COROBENCH_BIND"
LOOPBACK = "127.0.0.1"
ECHO_HOST = os.environ.get(BIND_ENV) or LOOPBACK
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
