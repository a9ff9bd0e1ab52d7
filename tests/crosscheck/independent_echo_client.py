"""Independent echo client: the project's servers driven by a client that shares no code with the suite.

Run: ``python -m tests.crosscheck.independent_echo_client [MODEL[.VARIANT] ...]``. For each server it
starts the model's real worker (the project's server), pins it to one core, and drives it twice,
back to back, at C=10 connections and 1 KiB messages:

- by the suite's own load generator (``workloads.peers.load_generator``), exactly as a tcp_echo cell;
- by an independent closed-loop client: C plain processes on the other core, each a blocking
  socket doing ``sendall`` then ``recv`` until the whole echo is back, checking it, M times (the
  textbook client, one process per connection so no GIL is shared).

It prints both throughputs and the server's CPU utilisation under each (for the independent round
from ``/proc/<pid>/stat``, which keeps the time of threads that have exited: the threads model
starts a thread per connection). Where both saturate the
server (utilisation >= 0.9), the throughputs should agree within 15 %; where the independent client
cannot saturate it (it pays a process switch per message), the comparison says nothing.
"""

from __future__ import annotations

import multiprocessing
import os
import socket
import sys
import time
from pathlib import Path

from benchmarks.harness.echo_harness import echo_server, load_generator, pin_pair
from benchmarks.harness.process_stats import group_cpu_seconds, pin_group, split_cores
from benchmarks.harness.worker_client import WorkerClient

CONNECTIONS = 10
SIZE = 1024
MESSAGES = 20_000
HOST = "127.0.0.1"


def client(port: int, round_trips: int, core: int, start: multiprocessing.synchronize.Event) -> None:
    os.sched_setaffinity(0, {core})
    payload = bytes(range(256)) * (SIZE // 256)
    with socket.create_connection((HOST, port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        start.wait()
        for _ in range(round_trips):
            sock.sendall(payload)
            got = b""
            while len(got) < SIZE:
                chunk = sock.recv(SIZE - len(got))
                if not chunk:
                    raise ConnectionError("server closed the connection")
                got += chunk
            if got != payload:
                raise AssertionError("echo differs from what was sent")


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of a whole process, exited threads included (``/proc/<pid>/stat``, clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def independent_round(port: int, server_pid: int, core: int) -> tuple[float, float]:
    """(messages per second, server CPU utilisation) of one independent closed-loop round."""
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    per_connection = MESSAGES // CONNECTIONS
    procs = [context.Process(target=client, args=(port, per_connection, core, start)) for _ in range(CONNECTIONS)]
    for proc in procs:
        proc.start()
    time.sleep(1.0)  # every client connected and waiting
    cpu_before, started = process_cpu_seconds(server_pid), time.perf_counter()
    start.set()
    for proc in procs:
        proc.join()
        if proc.exitcode != 0:
            raise RuntimeError(f"an independent client failed (exit {proc.exitcode})")
    elapsed = time.perf_counter() - started
    return per_connection * CONNECTIONS / elapsed, (process_cpu_seconds(server_pid) - cpu_before) / elapsed


def compare(label: str) -> None:
    model, _, variant = label.partition(".")
    cores = split_cores()
    if cores is None:
        raise SystemExit("needs two cores")
    with WorkerClient(model) as worker, load_generator() as generator:
        pin_pair(worker, generator)
        with echo_server(worker, variant or None) as port:
            generator.call({"op": "connect", "port": port, "connections": CONNECTIONS, "message_size": SIZE}, 60, label)
            cpu_before = group_cpu_seconds(worker.pid)
            reply = generator.call({"op": "round", "messages": MESSAGES}, 120, label)
            seconds = reply["quanta"] / 2**32
            suite_rate = MESSAGES / seconds
            suite_util = (group_cpu_seconds(worker.pid) - cpu_before) / seconds
            generator.call({"op": "close"}, 60, label)
            pin_group(worker.pid, cores[0])
            independent_rate, independent_util = independent_round(port, worker.pid, min(cores[1]))
    ratio = independent_rate / suite_rate
    print(
        f"{label:22s} suite {suite_rate / 1e3:7.1f} k msg/s (server {suite_util:.2f})   "
        f"independent {independent_rate / 1e3:7.1f} k msg/s (server {independent_util:.2f})   ratio {ratio:.2f}",
        flush=True,
    )


def main(argv: list[str]) -> int:
    labels = argv or ["threads", "eventlet", "gevent.defaults", "twisted", "tornado", "trio", "asyncio.streams"]
    for label in labels:
        compare(label)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
