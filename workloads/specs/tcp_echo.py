"""Workload ``tcp_echo``: the model is the echo server; what throughput, latency and CPU per message?

The model serves echo on 127.0.0.1 (``tcp_echo_server``) until told to stop. The shared load
generator (``workloads.peers.load_generator``, its own process on another core) keeps C connections
busy in a closed loop, times each round from first send to last echo and checks every byte; the
harness reads the server's CPU time over the round and the generator reports its own. This module
owns the grid and turns the rounds into the saved metrics, among them ``bottleneck``
(``workloads.specs.bottleneck``): ``under_test`` when the server was saturated on the cores it had,
``peer`` when it was not but the generator was (then also ``client_bound``), ``neither`` when
nothing was saturated (a stalled or latency-bound server).
"""

from __future__ import annotations

from typing import Any, Protocol, TypedDict

from workloads.runtime.server_control import ServerControl
from workloads.specs.base import CELL_START_S, Round, Workload
from workloads.specs.closed_loop import closed_loop_metrics
from workloads.specs.schema import PEAK_RSS, RSS_PER_CONNECTION, Chart, Metric, Plan, Schema


class Params(TypedDict):
    connections: int
    message_size: int
    messages: int


class Implements(Protocol):
    def tcp_echo_server(self, variant: str, control: ServerControl, /) -> None: ...


GRID = {
    "quick": ((10,), (1024,)),
    "default": ((10, 100), (1024, 16 * 1024)),
    "full": ((1, 10, 100, 1000), (1024, 16 * 1024, 100 * 1024)),
}
"""(connections, message sizes) per profile; 100 KiB on loopback mostly measures memory bandwidth. C=1 (a chain of
single round trips, which tcp_latency's open loop measures better) is in ``full``: the default profile's minutes
went to http_latency."""
MESSAGES = {"quick": 4000, "default": 10_000, "full": 20_000}
"""Messages per round at C >= 10: about 0.1-0.2 s at the fastest server on a 2-core machine."""


def messages_per_round(profile: str, connections: int) -> int:
    """At C < 10 a round is a chain of sequential round trips (~100 us each): a fifth of the messages."""
    messages = MESSAGES[profile]
    return messages if connections >= 10 else messages // 5


LATENCY_METRICS = (
    Metric("latency_p50_s", "p50", "s"),
    Metric("latency_p90_s", "p90", "s", table=False),
    Metric("latency_p99_s", "p99", "s", headline=True),
    Metric("latency_p999_s", "p99.9", "s", table=False),
    Metric("latency_max_s", "max", "s", table=False),
)


class TcpEcho(Workload[Params]):
    in_worker = False
    pinned = True
    schema = Schema(
        name="tcp_echo",
        order=20,
        question="How fast is the model as a TCP server?",
        scenario="busy server",
        metrics=(
            Metric("throughput_msgs_per_s", "throughput", "msgs/s", higher_is_better=True, headline=True),
            Metric("throughput_bytes_per_s", "throughput (bytes)", "bytes/s", higher_is_better=True, table=False),
            *LATENCY_METRICS,
            Metric("server_cpu_per_msg_s", "server CPU / msg", "s", headline=True),
            Metric("server_cpu_util", "server CPU use", "share", higher_is_better=True),
            Metric("server_cpu_s", "server CPU", "s", table=False),
            Metric("generator_cpu_per_msg_s", "generator working CPU / msg", "s", table=False),
            Metric("generator_cpu_util", "generator CPU use", "share", table=False),
            Metric("generator_wait_share", "generator waiting (spinning)", "share", table=False),
            RSS_PER_CONNECTION,
            PEAK_RSS,
        ),
        charts=(
            Chart(
                "throughput_msgs_per_s",
                "connections",
                "throughput_vs_connections",
                "How many echoes per second does each model's server sustain as connections grow, for each "
                "message size?",
            ),
            Chart(
                "server_cpu_per_msg_s",
                "connections",
                "server_cpu_per_msg",
                "How much server CPU time does each model spend per echoed message?",
            ),
            Chart(
                "rss_per_connection_bytes",
                "connections",
                "memory_per_connection",
                "How many bytes of server memory does each open connection cost in each model?",
                section="memory",
            ),
        ),
        flags=("client_bound",),
    )

    def grid(self, profile: str) -> list[Params]:
        connections, sizes = GRID[profile]
        return [
            Params(connections=c, message_size=size, messages=messages_per_round(profile, c))
            for size in sizes
            for c in connections
            if not (profile == "default" and c != 10 and size > 1024)  # 16 KiB beyond C=10: full only
        ]

    def expected_round_s(self, params: Params) -> float:
        return params["messages"] * (15e-6 + params["message_size"] * 1e-9)

    def expected_cell_s(self, params: Params, plan: Plan, profile: str) -> float:
        """The server's worker and the load generator both start."""
        return 2 * CELL_START_S + super().expected_cell_s(params, plan, profile)

    def summarize(self, rounds: list[Round], params: Params) -> dict[str, Any]:
        metrics = closed_loop_metrics(rounds, "msg", "throughput_msgs_per_s")
        metrics["throughput_bytes_per_s"] = metrics["throughput_msgs_per_s"] * params["message_size"]
        return metrics


WORKLOAD = TcpEcho()
