"""The two sides of ``ping_pong`` written with a blocking queue pair: ``put`` hands over, ``get`` waits.

The same code serves three models, which is the point of two of them: ``threads`` runs the sides in
two OS threads over ``queue.Queue`` (each hand-off wakes a thread blocked in the kernel), and
``gevent`` and ``eventlet`` run them in two greenlets over their own queues (each hand-off is a trip
through the hub). The queues are unbounded, so ``put`` never waits: only ``get`` blocks.
"""

from __future__ import annotations

from typing import Protocol


class TokenQueue(Protocol):
    def put(self, item: int) -> None: ...

    def get(self) -> int: ...


def ping(exchanges: int, to_pong: TokenQueue, to_ping: TokenQueue, received: list[int]) -> None:
    """Hand token 1 to pong; hand back one more than each token pong returns; record those tokens."""
    put, get, record = to_pong.put, to_ping.get, received.append
    token = 1
    for _ in range(exchanges):
        put(token)
        token = get()
        record(token)
        token += 1


def pong(exchanges: int, to_pong: TokenQueue, to_ping: TokenQueue, received: list[int]) -> None:
    """Wait for each token from ping, record it and hand back one more."""
    put, get, record = to_ping.put, to_pong.get, received.append
    for _ in range(exchanges):
        token = get()
        record(token)
        put(token + 1)
