"""The multi-core models' servers: one asyncio loop per process, thread or subinterpreter on one port.

Each server runs in its real worker, given two cores (``COROBENCH_CORES``), on 127.0.0.1: every byte of
several connections comes back, both loops take connections (``SO_REUSEPORT``: the kernel's 4-tuple hash,
so only "both got some" is asserted, with enough connections that one loop getting none has odds of 2 in
2**24), the server's CPU reading (its worker's process group) holds the loops' CPU, and once stopped
nothing listens or stays connected on the port and no process is left. ``interpreters_asyncio`` needs
3.12+: it runs under the 3.13 environment (``.corobench/venvs``; skipped where 3.13 is absent). The
same-parser HTTP server runs one per loop the same way. A session cell with one core given (this 2-core
machine: the load generator has the other) runs, records one loop, and the report says so. Nothing here
asserts a time.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import sys
import threading
import time
from pathlib import Path

import pytest

from benchmarks.harness.echo_harness import echo_server, http_server, reference_server
from benchmarks.harness.environments import prepare
from benchmarks.harness.interpreters import InterpreterError, resolve
from benchmarks.harness.worker_client import WorkerClient
from reports.build import write_report
from reports.judge.cost import ONE_LOOP_SERVER
from reports.read.run import load_run
from tests.session_runner import processes_tagged, run_benchmarks
from tests.test_http_models import get
from tests.test_models import echo_once, listening_addresses
from workloads.models.registry import MODELS as REGISTRY
from workloads.runtime.cores import CORES_ENV
from workloads.runtime.proc import group_cpu_seconds, group_pids
from workloads.specs.echo_data import ECHO_HOST, message
from workloads.specs.http_server import SAME_PARSER

MULTI_LOOP_MODELS = ("multiprocess_asyncio", "asyncio_threads", "interpreters_asyncio")
CONNECTIONS = 24
LARGER_THAN_SOCKET_BUFFERS = 4 * 1024 * 1024
"""Big enough that the echo fills the socket buffers and the server must pause reading (back-pressure)."""


def python_for(model: str) -> str | None:
    """The interpreter the model runs under here: this one, or 3.13 for subinterpreters (skip if absent)."""
    if model != "interpreters_asyncio" or sys.version_info >= (3, 12):
        return None
    try:
        found = resolve("3.13")
    except InterpreterError as exc:
        pytest.skip(f"interpreters_asyncio needs Python 3.12+; 3.13 is not installed here: {exc}")
    return prepare(found, say=print).python


def start(model: str, cores: str = "0,1") -> WorkerClient:
    worker = WorkerClient(model, env={CORES_ENV: cores}, python=python_for(model))
    if worker.hello.get("cannot"):
        worker.close()
        pytest.skip(f"{model}: {worker.hello['cannot']}")
    return worker


def tcp_rows(port: int) -> list[str]:
    """States (hex, /proc/net/tcp) of every socket whose local port is ``port``."""
    states = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as rows:
            next(rows)
            for row in rows:
                local, state = row.split()[1], row.split()[3]
                if int(local.split(":")[1], 16) == port:
                    states.append(state)
    return states


TIME_WAIT, CLOSE = "06", "07"
GONE_BOUND_S = 30.0
"""How long a killed group may take to vanish (a bound for a busy machine, not a measured time)."""


def gone(pgid: int) -> bool:
    """Whether every process of the group ended (zombies waiting for init to reap them count as ended)."""
    deadline = time.monotonic() + GONE_BOUND_S
    while time.monotonic() < deadline:
        alive = []
        for pid in group_pids(pgid):
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue
            if stat[stat.rindex(")") + 2] != "Z":
                alive.append(pid)
        if not alive:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("model", MULTI_LOOP_MODELS)
def test_every_loop_serves_the_port_byte_exact_and_stops_with_nothing_left(model: str) -> None:
    worker = start(model)
    try:
        with echo_server(worker, None) as port:
            setup = worker.listening["setup"]
            assert setup["server_loops"] == 2 and setup["listener"] == "SO_REUSEPORT"
            assert setup["parallel_loops"] == (1 if model == "asyncio_threads" and worker.hello["gil_enabled"] else 2)
            assert listening_addresses(port) == {"0100007F"}
            # Several connections open at once, each with its own bytes; the first few large enough to need
            # back-pressure (pause_writing / resume_writing), all of them checked whole.
            sockets = [socket.create_connection((ECHO_HOST, port), timeout=30) for _ in range(CONNECTIONS)]
            results: dict[int, bytes] = {}

            def exchange(index: int, sock: socket.socket) -> None:
                size = LARGER_THAN_SOCKET_BUFFERS if index < 3 else 1000 + index
                payload = message(index, size)
                sender = threading.Thread(target=sock.sendall, args=(payload,))
                sender.start()
                received = bytearray()
                while len(received) < size and (chunk := sock.recv(1 << 20)):
                    received += chunk
                sender.join()
                results[index] = bytes(received)

            threads = [threading.Thread(target=exchange, args=(i, s)) for i, s in enumerate(sockets)]
            group_before, main_before = group_cpu_seconds(worker.pid), main_thread_cpu_s(worker.pid)
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            group_spent = group_cpu_seconds(worker.pid) - group_before
            main_spent = main_thread_cpu_s(worker.pid) - main_before
            # The loops run in pool processes, loop threads or subinterpreters' threads, never the worker's main
            # thread (it waits for the stop): the server's CPU reading must be theirs.
            assert group_spent - main_spent > main_spent, (group_spent, main_spent)
            for sock in sockets:
                sock.close()
            for index in range(CONNECTIONS):
                size = LARGER_THAN_SOCKET_BUFFERS if index < 3 else 1000 + index
                assert results[index] == message(index, size), f"connection {index}: wrong echo"
            assert echo_once(port, b"after the others") == b"after the others"
        counts = worker.stopped["setup"]["server_loop_connections"]
        assert len(counts) == 2 and sum(counts) == CONNECTIONS + 1, counts
        assert min(counts) > 0, f"one loop took every connection: {counts}"
        assert listening_addresses(port) == set(), "a loop still listens after the stop"
        assert set(tcp_rows(port)) <= {TIME_WAIT, CLOSE}, "a connection is still open after the stop"
        # The same worker serves again: every loop was freed, nothing of the first server holds it.
        with echo_server(worker, None) as again:
            assert echo_once(again, message(7, 5000)) == message(7, 5000)
    finally:
        worker.close()
    assert gone(worker.pid), "a process of the server's group outlived its worker"


@pytest.mark.parametrize("model", MULTI_LOOP_MODELS)
def test_given_one_core_the_server_runs_one_loop(model: str) -> None:
    worker = start(model, cores="0")
    try:
        with echo_server(worker, None) as port:
            assert worker.listening["setup"]["server_loops"] == 1
            assert worker.listening["setup"]["parallel_loops"] == 1
            assert echo_once(port, message(1, 3000)) == message(1, 3000)
        assert worker.stopped["setup"]["server_loop_connections"] == [1]
    finally:
        worker.close()


def main_thread_cpu_s(pid: int) -> float:
    return int(Path(f"/proc/{pid}/task/{pid}/schedstat").read_text().split()[0]) / 1e9


def cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def test_a_server_loop_that_dies_is_an_error_not_a_hang() -> None:
    """The hybrid's child killed while serving: the worker reports the failure at the stop (or before)."""
    worker = start("multiprocess_asyncio")
    try:
        failed = False
        try:
            with echo_server(worker, None):
                children = [pid for pid in group_pids(worker.pid) if b"spawn_main" in cmdline(pid)]
                assert children, "the hybrid started no pool children"
                os.kill(children[0], 9)
                threading.Event().wait(0.5)  # let the parent see its control connection close
        except Exception as exc:  # any failure reply will do; a hang would time out the stop
            failed = True
            assert "died" in str(exc) or "terminated" in str(exc).lower() or "closed" in str(exc), exc
        assert failed, "the server kept going with a dead loop"
    finally:
        worker.close()


@pytest.mark.parametrize("model", MULTI_LOOP_MODELS)
def test_the_client_splits_its_connections_over_the_loops_and_gets_every_byte(model: str) -> None:
    """Given two cores each loop runs a contiguous slice of the connections; the worker checks every crc."""
    params = {"connections": 6, "message_size": 70_000, "round_trips": 3}
    worker = start(model)
    try:
        with reference_server() as server:
            reply = worker.run_round("tcp_client", {**params, "port": server.hello["port"]}, timeout_s=60)
    finally:
        worker.close()
    assert reply["metrics"]["messages"] == 18


HTTP_MODELS = ("multiprocess_asyncio", "asyncio_threads")
"""The same-parser HTTP server per loop (interpreters_asyncio cannot: httptools refuses subinterpreters)."""


@pytest.mark.parametrize("model", HTTP_MODELS)
def test_the_same_parser_http_server_runs_on_every_loop(model: str) -> None:
    size = 3000
    worker = start(model)
    try:
        with http_server(worker, SAME_PARSER, size, 0) as port:
            assert worker.listening["setup"]["server_loops"] == 2
            connections = [http.client.HTTPConnection(ECHO_HOST, port, timeout=30) for _ in range(CONNECTIONS)]
            for _ in range(3):  # keep-alive: three requests on each connection, every response checked
                for connection in connections:
                    get(connection, size)
            for connection in connections:
                connection.close()
        counts = worker.stopped["setup"]["server_loop_connections"]
        assert len(counts) == 2 and sum(counts) == CONNECTIONS and min(counts) > 0, counts
        assert listening_addresses(port) == set()
        assert set(tcp_rows(port)) <= {TIME_WAIT, CLOSE}
    finally:
        worker.close()
    assert gone(worker.pid)


def test_subinterpreters_say_why_they_serve_no_http() -> None:
    reason = REGISTRY["interpreters_asyncio"].reason_cannot("http_server")
    assert reason is not None and "httptools" in reason and "subinterpreters" in reason


@pytest.mark.skipif(len(os.sched_getaffinity(0)) != 2, reason="the one-core cell is what a 2-core machine gives")
def test_a_cell_given_one_core_runs_records_one_loop_and_the_report_says_so(tmp_path: Path) -> None:
    out = tmp_path / "one_core.json"
    session = run_benchmarks(
        "--profile=quick",
        "--workloads=tcp_echo",
        "--models=asyncio_threads,multiprocess_asyncio",
        f"--benchmark-json={out}",
        "--no-report",
    )
    assert session.returncode == 0, session.output
    assert processes_tagged(session.tag) == []
    saved = json.loads(out.read_text())
    assert not saved["corobench"]["skipped_cells"], saved["corobench"]["skipped_cells"]
    infos = [b["extra_info"] for b in saved["benchmarks"]]
    assert {i["model"] for i in infos} == {"asyncio_threads", "multiprocess_asyncio"}
    for info in infos:
        assert info["server_cores_given"] == 1 and info["server_loops"] == 1 and info["parallel_loops"] == 1
        assert info["listener"] == "SO_REUSEPORT" and sum(info["server_loop_connections"]) >= 1
        assert info["cores_given"] == 1 and info["cores_used"] > 0
    summary = (write_report([load_run(out)], tmp_path / "report").parent / "summary.md").read_text()
    assert f"asyncio_threads {ONE_LOOP_SERVER}." in summary
    assert f"multiprocess_asyncio {ONE_LOOP_SERVER}." in summary
    assert ONE_LOOP_SERVER + ": the peer had the other core" in summary
