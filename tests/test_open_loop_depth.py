"""The open-loop generator's depth: at most ``depth`` messages in flight per connection, the rest waiting.

Both loops (C and Python) run against servers in this process whose threads see exactly what each
connection carries:

- a server that, after reading a whole message, looks (without blocking) for the start of another one
  before it answers: at depth 1 there never is one, deeper there is (so the check can fail);
- a server that answers each message after a fixed hold: the connections, not the server, then bound
  what can be carried (C x depth / hold), and messages due meanwhile wait and are timed from their
  schedule;
- a server that never answers: each connection carries exactly ``depth`` messages, and every other
  measured message is counted as never echoed, having waited for its connection all along.

No wall time is asserted beyond what a server's own hold guarantees from below (a sleep is never short).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.test_open_loop import IMPLS, misbehaving_server, open_loop, read_message
from workloads.peers.open_loop_generator import connection_limit

SIZE = 1024
HOLD_S = 2e-3


def peek_for_more(conn: socket.socket) -> bool:
    """Whether a byte of a further message is already waiting on ``conn`` (non-blocking)."""
    try:
        return bool(conn.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT))
    except BlockingIOError:
        return False


@contextmanager
def counting_server(hold_s: float = 0.0) -> Iterator[tuple[int, list[int]]]:
    """(port, [times a further message was already waiting when one was answered]) of an echo server that
    holds each message ``hold_s`` before it looks for more and answers."""
    early = [0]

    def serve(conn: socket.socket, stop: threading.Event) -> None:
        while not stop.is_set():
            data = read_message(conn)
            if hold_s:
                time.sleep(hold_s)
            if peek_for_more(conn):
                early[0] += 1
            conn.sendall(data)

    with misbehaving_server(serve) as (port, _):
        yield port, early


@pytest.mark.parametrize("impl", IMPLS)
def test_at_depth_one_a_connection_never_carries_a_second_message(impl: str) -> None:
    with counting_server(hold_s=200e-6) as (port, early), open_loop(impl, port, 4, SIZE) as gen:
        measured = gen.measure(8000.0, 0.05, 0.3, 2.0, 3, depth=1)
    assert measured["messages_not_echoed"] == 0 and measured["depth"] == 1
    assert early[0] == 0
    assert measured["messages_waited_for_connection"] > 0  # 8000/s on 4 connections held 0.2 ms: some waited


@pytest.mark.parametrize("impl", IMPLS)
def test_deeper_a_connection_pipelines_so_the_check_can_fail(impl: str) -> None:
    with counting_server(hold_s=200e-6) as (port, early), open_loop(impl, port, 4, SIZE) as gen:
        measured = gen.measure(8000.0, 0.05, 0.3, 2.0, 3, depth=8)
    assert measured["messages_not_echoed"] == 0
    assert early[0] > 0


@pytest.mark.parametrize("impl", IMPLS)
def test_messages_due_on_a_busy_connection_wait_and_are_timed_from_their_schedule(impl: str) -> None:
    """Two connections held 2 ms a message carry at most 1000/s; offered 1500/s, the queue grows in the
    generator: latency (from the schedule) far above the hold, and the connections named as the limit."""
    connections, rate, duration_s = 2, 1500.0, 0.4
    with counting_server(hold_s=HOLD_S) as (port, early), open_loop(impl, port, connections, SIZE) as gen:
        measured = gen.measure(rate, 0.0, duration_s, 5.0, 5, depth=1)
    assert early[0] == 0 and measured["messages_not_echoed"] == 0
    carried = connections / HOLD_S
    assert measured["connection_limit_msgs_per_s"] <= 1.05 * carried  # a hold is never shorter than asked
    assert measured["messages_waited_for_connection"] > measured["messages"] / 2
    # by the end a third of the schedule's messages wait: its last ones are due ~0.13 s before they can leave
    assert measured["latency_p99_s"] >= 20 * HOLD_S
    assert measured["connection_wait_p99_s"] >= measured["latency_p99_s"] - 10 * HOLD_S
    assert measured["latency_p99_s"] >= measured["connection_wait_p99_s"]
    assert measured["generator_lag_p99_s"] < measured["connection_wait_p99_s"]  # waiting is not the generator's lag


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("depth", [1, 3])
def test_a_server_that_never_answers_gets_depth_messages_per_connection(impl: str, depth: int) -> None:
    totals: list[list[int]] = []
    """Bytes each connection the server accepted has received so far."""

    def count_bytes(conn: socket.socket, stop: threading.Event) -> None:
        total = [0]
        totals.append(total)
        conn.settimeout(0.05)
        while not stop.is_set():
            try:
                chunk = conn.recv(65536)
            except TimeoutError:
                continue
            if not chunk:
                return
            total[0] += len(chunk)

    with misbehaving_server(count_bytes) as (port, _), open_loop(impl, port, 2, SIZE) as gen:
        measured = gen.measure(200.0, 0.0, 0.3, 0.2, 7, depth=depth)
        expected = [depth * SIZE, depth * SIZE]
        deadline = time.monotonic() + 10.0  # the server's threads read what the connections carried; a busy
        while sorted(t[0] for t in totals if t[0]) != expected and time.monotonic() < deadline:  # machine is slow
            time.sleep(0.01)
    assert measured["messages_not_echoed"] == measured["messages"]
    assert measured["messages_waited_for_connection"] >= measured["messages"] - 2 * depth
    assert sorted(t[0] for t in totals if t[0]) == expected


def test_the_connection_limit_is_littles_law() -> None:
    assert connection_limit(10, 100e-6) == pytest.approx(100_000.0)
    assert connection_limit(10, 0.0) is None


def test_a_depth_below_one_is_refused() -> None:
    with counting_server() as (port, _), open_loop("python", port, 1, SIZE) as gen, pytest.raises(ValueError):
        gen.measure(100.0, 0.0, 0.1, 0.1, 1, depth=0)
