"""A test-only model that misbehaves on command, for the harness's fault tests.

The environment variable ``COROBENCH_FAULT`` chooses the fault; without it the
model behaves (sequential and slow, but correct). It is registered in
``tests/models/__init__.py``, never among the benchmarked models.

Faults: ``crash`` (exit status 3), ``kill`` (SIGKILL itself), ``hang`` (never
answers), ``wrong`` (a wrong result), ``raise`` (an exception), ``oom`` (runs
out of memory under an address-space limit), ``noisy`` (prints to stdout and
stderr, then behaves), ``corrupt_echo`` (the echo server flips one byte),
``reset_echo`` (the echo server resets every connection), ``slow_echo`` (the
echo server answers each message after ``SLOW_ECHO_S``), ``never_listen``
(the echo server never reports a port).
"""

from __future__ import annotations

import os
import resource
import select
import signal
import socket
import struct
import sys
import threading
import time

from workloads.runtime.server_control import ServerControl
from workloads.runtime.window import Window
from workloads.specs.echo_data import ECHO_HOST

FAULT = os.environ.get("COROBENCH_FAULT", "")
HANG_S = 3600.0
OOM_LIMIT_BYTES = 1 << 30
SLOW_ECHO_S = 0.02


def _misbehave() -> None:
    if FAULT == "crash":
        sys.stderr.write("faulty model: crashing on purpose\n")
        sys.stderr.flush()
        os._exit(3)
    if FAULT == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if FAULT == "hang":
        time.sleep(HANG_S)
    if FAULT == "raise":
        raise RuntimeError("faulty model: raising on purpose")
    if FAULT == "oom":
        resource.setrlimit(resource.RLIMIT_AS, (OOM_LIMIT_BYTES, OOM_LIMIT_BYTES))
        _hog = bytearray(4 * OOM_LIMIT_BYTES)
    if FAULT == "noisy":
        print("faulty model: noise on stdout that must not corrupt the protocol")
        sys.stderr.write("faulty model: noise on stderr\n")


def sleep_fanout(variant: str, n: int, delay: float, window: Window) -> list[tuple[int, float]]:
    _misbehave()
    with window:
        started = time.perf_counter()
        time.sleep(delay)  # one sleep stands for every task's
        slept = time.perf_counter() - started
        results = [(i, slept) for i in range(n)]
    if FAULT == "wrong":
        results[-1] = (0, slept)
    return results


def _echo(conn: socket.socket) -> None:
    with conn:
        if FAULT == "reset_echo":  # abort the connection: the peer sees ECONNRESET
            conn.recv(1)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return
        while data := conn.recv(65536):
            if FAULT == "slow_echo":
                time.sleep(SLOW_ECHO_S)
            if FAULT == "corrupt_echo" and len(data) > 1:
                data = data[:1] + bytes([data[1] ^ 0xFF]) + data[2:]
            conn.sendall(data)


def tcp_echo_server(variant: str, control: ServerControl) -> None:
    if FAULT == "never_listen":
        time.sleep(HANG_S)
    with socket.create_server((ECHO_HOST, 0)) as listener:
        control.listening(listener.getsockname()[1])
        while True:
            readable, _, _ = select.select([listener.fileno(), control.stop_fd], [], [])
            if control.stop_fd in readable:
                return
            conn, _ = listener.accept()
            threading.Thread(target=_echo, args=(conn,), daemon=True).start()
