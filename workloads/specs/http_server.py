"""Workload ``http_server``: the model serves HTTP/1.1 keep-alive; what requests/s, latency and CPU per request?

The model serves ``GET /`` on 127.0.0.1 (``http_server``) until told to stop. Each request's handler
first awaits a simulated IO call of ``io_ms`` with the model's own sleep (the "database call"), then
answers 200 with a body of ``body_size`` bytes and a ``Content-Length`` (``workloads.specs.http_data``).
The suite's HTTP load generator (``workloads.peers.http_generator``, its own process on another
core) keeps C persistent connections busy in a closed loop with one request in flight per
connection (no pipelining), checks every response's status, length and body bytes, and reports
its own CPU; the harness reads the server's.

Two tiers of server, both what an expert would run:
- **own server** (each model's default variant): the HTTP server this library's users deploy
  (gevent.pywsgi, eventlet.wsgi, tornado's HTTPServer, twisted.web, uvicorn, ...);
- **same parser** (variant ``httptools``): one parser, httptools (uvicorn's), over the model's own
  sockets, so the difference between those rows is the concurrency model alone.
"""

from __future__ import annotations

from typing import Any, Protocol, TypedDict

from workloads.runtime.server_control import ServerControl
from workloads.specs.base import CELL_START_S, Round, Workload
from workloads.specs.closed_loop import closed_loop_metrics
from workloads.specs.http_data import HttpApp
from workloads.specs.schema import PEAK_RSS, Chart, Metric, Plan, Schema

SAME_PARSER = "httptools"
"""The variant name of the same-parser tier in every model."""
TIERS = {"own": "own server", "same_parser": "same parser (httptools)"}


def tier(variant: str) -> str:
    """``same_parser`` for the httptools variant, ``own`` for a library's own server."""
    return "same_parser" if variant == SAME_PARSER else "own"


class Params(TypedDict):
    connections: int
    body_size: int
    io_ms: int
    requests: int


class Implements(Protocol):
    def http_server(self, variant: str, control: ServerControl, app: HttpApp, /) -> None: ...


COMPARISON_POINT = (100, 1024, 0)
"""(connections, body size, io_ms) where every tier and variant is measured in every profile: the parser and
the server, with nothing else in the request."""
GRID: dict[str, tuple[tuple[int, int, int], ...]] = {
    "quick": (COMPARISON_POINT,),
    # C=10 with a 1 ms IO call: the calls must overlap (C / 1 ms bounds it); the heaviest point is the
    # matrix's column: many connections, a 16 KiB page, and a database call in every request.
    "default": (COMPARISON_POINT, (10, 1024, 1), (100, 16 * 1024, 1)),
    "full": tuple((c, size, io_ms) for io_ms in (0, 1) for size in (1024, 16 * 1024) for c in (10, 100, 1000)),
}
"""(connections, body size, io_ms) per profile, in report order (the last is the heaviest). The default
profile keeps three of full's points; the other five (C=10 at io_ms=0, 16 KiB without IO, C=100 at 1 KiB
with IO) and C=1000 are in ``full``."""
REQUESTS = {"quick": 2000, "default": 4000, "full": 10_000}
"""Requests per round: about 0.05-0.3 s at C=100 on a 2-core machine (7 k to 130 k requests/s)."""


def requests_per_round(profile: str, connections: int, io_ms: int) -> int:
    """Fewer at small C with an IO call, where C / io_ms caps the rate (10 k requests/s at C=10, 1 ms)."""
    requests = REQUESTS[profile]
    return requests // 2 if io_ms and connections < 100 else requests


class HttpServer(Workload[Params]):
    in_worker = False
    pinned = True
    schema = Schema(
        name="http_server",
        order=25,
        question="How many HTTP/1.1 requests per second does the model's server answer?",
        scenario="web service",
        metrics=(
            Metric("throughput_requests_per_s", "requests/s", "requests/s", higher_is_better=True, headline=True),
            Metric("latency_p50_s", "p50", "s"),
            Metric("latency_p90_s", "p90", "s", table=False),
            Metric("latency_p99_s", "p99", "s", headline=True),
            Metric("latency_p999_s", "p99.9", "s", table=False),
            Metric("latency_max_s", "max", "s", table=False),
            Metric("server_cpu_per_request_s", "server CPU / request", "s", headline=True),
            Metric("server_cpu_util", "server CPU use", "share", higher_is_better=True),
            Metric("server_cpu_s", "server CPU", "s", table=False),
            Metric("generator_cpu_per_request_s", "generator working CPU / request", "s", table=False),
            Metric("generator_cpu_util", "generator CPU use", "share", table=False),
            Metric("generator_wait_share", "generator waiting (spinning)", "share", table=False),
            PEAK_RSS,
        ),
        charts=(
            Chart(
                "throughput_requests_per_s",
                "connections",
                "requests_vs_connections",
                "How many HTTP requests per second does each model's server answer, own server and same parser?",
            ),
            Chart(
                "server_cpu_per_request_s",
                "connections",
                "server_cpu_per_request",
                "How much server CPU time does each model spend per HTTP request?",
            ),
        ),
        flags=("client_bound",),
    )

    def grid(self, profile: str) -> list[Params]:
        return [
            Params(connections=c, body_size=size, io_ms=io_ms, requests=requests_per_round(profile, c, io_ms))
            for c, size, io_ms in GRID[profile]
        ]

    def measures_variant(self, profile: str, params: Params, *, default: bool) -> bool:
        """Second variants (the same-parser tier, aiohttp): at the comparison point in the default profile,
        everywhere in ``full``, not in ``quick`` (a smoke run of each model's own server)."""
        point = (params["connections"], params["body_size"], params["io_ms"])
        return default or profile == "full" or (profile == "default" and point == COMPARISON_POINT)

    def expected_round_s(self, params: Params) -> float:
        per_request = 60e-6 + params["body_size"] * 1e-9
        io_bound = params["io_ms"] / 1000 / params["connections"]
        return params["requests"] * max(per_request, io_bound)

    def expected_cell_s(self, params: Params, plan: Plan, profile: str) -> float:
        """The server's worker and the load generator both start."""
        return 2 * CELL_START_S + super().expected_cell_s(params, plan, profile)

    def summarize(self, rounds: list[Round], params: Params) -> dict[str, Any]:
        return closed_loop_metrics(rounds, "request", "throughput_requests_per_s")


WORKLOAD = HttpServer()
