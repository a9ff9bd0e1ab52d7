"""What a host is, and the idle network round trip from it to the server's host: run on both sides of a run.

``describe()`` is what a run records of each host (CPU model, cores this process may use, kernel, Python,
whether the peers' C loops are built there). Over SSH the suite runs
``python -m workloads.runtime.host_facts HOST PORT`` on the peer host: it prints one JSON object, the
peer's description plus ``round_trip_us``, the median and minimum of ``ROUND_TRIPS`` one-byte round trips
over one TCP connection to an echo listener the harness opened on ``HOST:PORT`` (the address the servers
under test bind): the network path every generator's message takes, measured idle, before any cell.
Stdlib only: it runs before anything else is known about the peer host.
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import socket
import statistics
import sys
import time

ROUND_TRIPS = 200
PEER_C_LOOPS = ("_echo_loop", "_open_loop", "_http_loop", "_http_open_loop")
"""The peers' C loops (``workloads/peers/_*.c``), built on each host by ``pip install -e .``."""


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def describe() -> dict[str, object]:
    """This host as a run records it."""
    built = [name for name in PEER_C_LOOPS if importlib.util.find_spec(f"workloads.peers.{name}") is not None]
    return {
        "hostname": socket.gethostname(),
        "cpu_model": cpu_model(),
        "cores": len(os.sched_getaffinity(0)),
        "kernel": f"{platform.system()} {platform.release()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "peer_c_loops": f"{len(built)} of {len(PEER_C_LOOPS)} built",
    }


def round_trip_us(host: str, port: int, count: int = ROUND_TRIPS) -> dict[str, float]:
    """Median and minimum of ``count`` one-byte round trips to an echo listener, in microseconds."""
    samples = []
    with socket.create_connection((host, port), timeout=10) as connection:
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for _ in range(count):
            started = time.perf_counter()
            connection.sendall(b"x")
            if connection.recv(1) != b"x":
                raise ConnectionError(f"the echo listener at {host}:{port} did not echo")
            samples.append((time.perf_counter() - started) * 1e6)
    return {"median": statistics.median(samples), "min": min(samples), "count": count}


def main(argv: list[str]) -> int:
    facts = describe()
    if len(argv) == 2:
        facts["round_trip_us"] = round_trip_us(argv[0], int(argv[1]))
    elif argv:
        print("usage: python -m workloads.runtime.host_facts [ECHO_HOST ECHO_PORT]", file=sys.stderr)
        return 2
    print(json.dumps(facts))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
