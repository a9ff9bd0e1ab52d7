"""wrk against the suite's HTTP generator, sleeping and spinning, on the same servers: the README's table.

``python -m tests.crosscheck.wrk_compare MODEL.VARIANT [...]`` serves ``GET /`` (1 KiB, no IO call)
with each server, pins it and its client to separate cores, and alternates five 2 s wrk runs
(``tests.test_http_wrk.wrk_requests_per_s``) with suite rounds of the same length, first with the
generator sleeping between responses (as wrk does), then spinning (the suite's default). It prints
each client's best run and their ratio; ``tests/test_http_wrk.py`` asserts the sleeping pair agrees.
"""

from __future__ import annotations

import sys

from benchmarks.harness.echo_harness import http_server
from benchmarks.harness.process_stats import pin_group, split_cores
from benchmarks.harness.worker_client import WorkerClient
from tests.test_http_wrk import BODY_SIZE, CONNECTIONS, RUNS, WARM_UP_REQUESTS, WRK_SECONDS, best, wrk_requests_per_s
from workloads.peers.waiting import SLEEP_ENV
from workloads.runtime.window import QUANTA_PER_SECOND


def compare(model: str, variant: str, sleep: bool) -> tuple[float, float]:
    """(suite's best requests/s, wrk's) against one server."""
    cores = split_cores()
    if cores is None:
        raise SystemExit("one CPU: the server and its client cannot have cores of their own")
    server_cores, client_cores = cores
    env = {SLEEP_ENV: "1" if sleep else "0"}
    with (
        WorkerClient(model) as worker,
        http_server(worker, variant, BODY_SIZE, 0) as port,
        WorkerClient("http_generator", env=env, module="workloads.peers.http_generator") as generator,
    ):
        pin_group(worker.pid, server_cores)
        pin_group(generator.pid, client_cores)
        generator.call({"op": "connect", "port": port, "connections": CONNECTIONS, "body_size": BODY_SIZE}, 30, "c")
        generator.call({"op": "round", "requests": WARM_UP_REQUESTS}, 60, "warm-up")
        suite, wrk = [], []
        for _ in range(RUNS):
            wrk.append(wrk_requests_per_s(port, client_cores))
            requests = int(wrk[-1] * WRK_SECONDS)
            reply = generator.call({"op": "round", "requests": requests}, 60, "suite")
            suite.append(requests / (reply["quanta"] / QUANTA_PER_SECOND))
    return best(suite), best(wrk)


def main(servers: list[str]) -> int:
    for server in servers:
        model, _, variant = server.partition(".")
        for sleep in (True, False):
            ours, theirs = compare(model, variant, sleep)
            how = "sleeping" if sleep else "spinning"
            print(f"{server}: wrk {theirs:.0f}, suite {how} {ours:.0f} requests/s ({ours / theirs:.2f}x)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
