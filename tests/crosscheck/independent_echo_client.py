"""Independent echo client: the project's servers driven by a client that shares no code with the suite.

Run: ``python -m tests.crosscheck.independent_echo_client [MODEL[.VARIANT] ...]`` (under the
CPU lock: it times). It first compiles ``independent_echo_client.c`` (next to this file) with ``$CC`` or ``cc``
into a temporary directory; without a C compiler it stops with that reason. For each server it starts
the model's real worker (the project's server), pins it like a tcp_echo cell (server on every core
but one, peer on that one) and drives it at C=10 connections and 1 KiB messages, closed loop, every
byte checked, alternately:

- by the suite's own load generator (``workloads.peers.load_generator``), exactly as a tcp_echo cell;
- by the independent client: the compiled C program, one process pinned to the generator's core,
  ``poll(2)`` over C non-blocking sockets, its own message patterns and its own timing
  (``CLOCK_MONOTONIC`` from first send to last complete echo). It connects afresh every round.
  It waits the way the suite's generator does (``workloads.peers.waiting``): it busy-polls
  (``poll`` timeout 0) by default and sleeps in ``poll`` under ``COROBENCH_GENERATOR_SLEEP=1``,
  which switches both. Which of the two a client does changes the server's own CPU per message on
  this VM (a sleeping client costs the server a wake-up per echo), so only like is compared with like.

One warm-up round of each, then ``ROUNDS`` rounds of each, interleaved so drift hits both alike; the
table shows medians. The server's CPU time is read the same way for both (``group_cpu_seconds`` of
the worker's process group, every live thread): for the independent round just before the client is
told to start and just after it reports, while its connections are still open (the threads model's
per-connection threads are all alive then). Because that reading sums live threads only, the next
suite round waits until the server's thread count is back to what it was before the client connected:
a threads server's per-connection threads, exiting during a round, would take their CPU time out of
the sum. The client's own CPU share shows whether it had headroom.

For each server it prints both throughputs, the server's utilisation under each, the ratio
(independent / suite), whether both saturated the server (utilisation >= 0.9) and whether the two
agree within 15 %. The agreement only means something where both saturate; the exit status is 1
if any such server disagrees. (The earlier independent client, C blocking Python processes, never
saturated a server: it paid a process switch per message. It is gone; see the git history.)
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks.harness.echo_harness import echo_server, load_generator, pin_pair
from benchmarks.harness.process_stats import group_cpu_seconds, pin_group, split_cores
from benchmarks.harness.worker_client import WorkerClient
from workloads.peers import waiting
from workloads.runtime.proc import PROC, group_pids

CONNECTIONS = 10
SIZE = 1024
MESSAGES = 20_000
ROUNDS = 5
HOST = "127.0.0.1"
SATURATED = 0.9
AGREEMENT = 0.15
SOURCE = Path(__file__).with_name("independent_echo_client.c")
DEFAULT_LABELS = ["threads", "eventlet", "gevent.defaults", "twisted", "tornado", "trio", "asyncio.streams"]


class NoCompiler(RuntimeError):
    """There is no C compiler to build the independent client with."""


class ClientFailed(RuntimeError):
    """The independent client exited early: a wrong or short echo, or a failed connect."""


def compile_client(directory: Path) -> Path:
    """Compile the C client into ``directory`` with ``$CC`` (default ``cc``); the path of the program."""
    compiler = shlex.split(os.environ.get("CC", "cc"))
    if not compiler or shutil.which(compiler[0]) is None:
        raise NoCompiler(f"no C compiler: {compiler[0] if compiler else '$CC'} not found (set CC or install cc)")
    binary = directory / "independent_echo_client"
    command = [*compiler, "-O2", "-Wall", "-Wextra", "-o", str(binary), str(SOURCE)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{shlex.join(command)} failed:\n{result.stdout}{result.stderr}")
    return binary


@dataclass(frozen=True)
class ClientRound:
    """One run of the C client: its report, plus the server CPU read around its timed part."""

    messages: int
    seconds: float
    client_cpu_s: float
    server_cpu_s: float


def run_client(
    binary: Path,
    port: int,
    connections: int,
    size: int,
    messages: int,
    *,
    core: int | None = None,
    server_cpu: Callable[[], float] = lambda: 0.0,
    seed: int = 1,
    spin: bool = False,
    timeout_s: float = 120.0,
) -> ClientRound:
    """Run the client once: connect, read ``server_cpu()``, start it, read its result and ``server_cpu()``."""
    wait = "spin" if spin else "block"
    command = [str(binary), HOST, str(port), str(connections), str(size), str(messages), str(seed), wait]
    proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdin and proc.stdout and proc.stderr
    watchdog = threading.Timer(timeout_s, proc.kill)
    watchdog.start()
    try:
        if core is not None:
            os.sched_setaffinity(proc.pid, {core})
        if proc.stderr.readline().strip() != "connected":
            raise ClientFailed(f"independent client did not connect (exit {proc.wait()}): {proc.stderr.read()}")
        before = server_cpu()
        proc.stdin.write("\n")
        proc.stdin.flush()
        line = proc.stdout.readline()
        after = server_cpu()
        if not line:
            raise ClientFailed(f"independent client failed (exit {proc.wait()}): {proc.stderr.read().strip()}")
        proc.stdin.close()  # now it closes its connections and exits
        if proc.wait() != 0:
            raise ClientFailed(f"independent client exited {proc.returncode}: {proc.stderr.read().strip()}")
        report = json.loads(line)
        return ClientRound(report["messages"], report["seconds"], report["client_cpu_s"], after - before)
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            with contextlib.suppress(OSError):  # stdin may hold an unsent line for a client that died
                stream.close()


@dataclass(frozen=True)
class Measured:
    """One round, either client: messages per second, server and client CPU utilisation."""

    rate: float
    server_util: float
    client_util: float


def suite_round(generator: WorkerClient, worker: WorkerClient, label: str) -> Measured:
    cpu_before = group_cpu_seconds(worker.pid)
    reply = generator.call({"op": "round", "messages": MESSAGES}, 120, label)
    server_cpu = group_cpu_seconds(worker.pid) - cpu_before
    seconds = reply["quanta"] / 2**32
    return Measured(MESSAGES / seconds, server_cpu / seconds, reply["metrics"]["generator_cpu_s"] / seconds)


def group_threads(pgid: int) -> int:
    """How many threads the live processes of the group have."""
    count = 0
    for pid in group_pids(pgid):
        try:
            count += len(list((PROC / str(pid) / "task").iterdir()))
        except OSError:
            continue
    return count


def settle(pgid: int, threads: int, timeout_s: float = 5.0) -> None:
    """Wait until the group is back to ``threads`` threads (or fewer); warn if it is not within the timeout."""
    deadline = time.monotonic() + timeout_s
    while (now := group_threads(pgid)) > threads:
        if time.monotonic() > deadline:
            print(f"  (server still has {now} threads, not {threads}, {timeout_s} s after the client left)", flush=True)
            return
        time.sleep(0.005)


def independent_round(binary: Path, port: int, worker: WorkerClient, core: int, spin: bool) -> Measured:
    def server_cpu() -> float:
        return group_cpu_seconds(worker.pid)

    threads = group_threads(worker.pid)
    result = run_client(binary, port, CONNECTIONS, SIZE, MESSAGES, core=core, server_cpu=server_cpu, spin=spin)
    settle(worker.pid, threads)  # the server's per-connection threads (if any) have exited
    if result.messages != MESSAGES:
        raise ClientFailed(f"independent client reported {result.messages} messages, asked for {MESSAGES}")
    return Measured(
        result.messages / result.seconds, result.server_cpu_s / result.seconds, result.client_cpu_s / result.seconds
    )


def median(rounds: list[Measured]) -> Measured:
    return Measured(
        statistics.median(r.rate for r in rounds),
        statistics.median(r.server_util for r in rounds),
        statistics.median(r.client_util for r in rounds),
    )


def compare(label: str, binary: Path, spin: bool) -> tuple[Measured, Measured]:
    """(suite, independent) medians for one server."""
    model, _, variant = label.partition(".")
    cores = split_cores()
    if cores is None:
        raise SystemExit("needs two cores")
    suite: list[Measured] = []
    independent: list[Measured] = []
    with WorkerClient(model) as worker, load_generator() as generator:
        pin_pair(worker, generator)
        with echo_server(worker, variant or None) as port:
            generator.call({"op": "connect", "port": port, "connections": CONNECTIONS, "message_size": SIZE}, 60, label)
            pin_group(worker.pid, cores[0])
            for _ in range(ROUNDS + 1):  # the first pair warms up and is dropped
                suite.append(suite_round(generator, worker, label))
                independent.append(independent_round(binary, port, worker, min(cores[1]), spin))
            generator.call({"op": "close"}, 60, label)
    return median(suite[1:]), median(independent[1:])


HEADER = (
    f"{'server':18s} {'suite':>7s} {'server':>6s} {'gen':>5s}   {'indep':>7s} {'server':>6s} {'client':>6s}   "
    f"{'ratio':>5s}  both saturated  within 15 %\n"
    f"{'':18s} {'k msg/s':>7s} {'util':>6s} {'cpu':>5s}   {'k msg/s':>7s} {'util':>6s} {'cpu':>6s}"
)


def row(label: str, suite: Measured, independent: Measured) -> tuple[str, bool, bool]:
    """The table line, whether both saturated the server and whether the throughputs agree."""
    ratio = independent.rate / suite.rate
    saturated = suite.server_util >= SATURATED and independent.server_util >= SATURATED
    agree = abs(ratio - 1) <= AGREEMENT
    line = (
        f"{label:18s} {suite.rate / 1e3:7.1f} {suite.server_util:6.2f} {suite.client_util:5.2f}   "
        f"{independent.rate / 1e3:7.1f} {independent.server_util:6.2f} {independent.client_util:6.2f}   "
        f"{ratio:5.2f}  {'yes' if saturated else 'no':14s}  {'yes' if agree else 'no'}"
    )
    return line, saturated, agree


def main(argv: list[str]) -> int:
    spin = waiting.spins()  # the same wait as the suite's generator in this run
    labels = argv or DEFAULT_LABELS
    with tempfile.TemporaryDirectory(prefix="corobench-xclient-") as directory:
        try:
            binary = compile_client(Path(directory))
        except NoCompiler as error:
            raise SystemExit(str(error)) from None
        print(
            f"C={CONNECTIONS}, {SIZE} B messages, {MESSAGES} per round, medians of {ROUNDS} rounds each; "
            f"independent client {'busy-polls' if spin else 'sleeps in poll'}",
            flush=True,
        )
        print(HEADER, flush=True)
        checked = disagreeing = 0
        for label in labels:
            line, saturated, agree = row(label, *compare(label, binary, spin))
            print(line, flush=True)
            checked += saturated
            disagreeing += saturated and not agree
    print(f"both saturated: {checked} of {len(labels)}; of those, outside 15 %: {disagreeing}", flush=True)
    return 1 if disagreeing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
