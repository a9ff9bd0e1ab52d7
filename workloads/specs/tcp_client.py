"""Workload ``tcp_client``: the model is the client of a shared reference echo server.

The "many concurrent downloads" shape: the model opens C connections concurrently and does M
closed-loop round trips of S bytes on each, returning per connection the crc32 of every byte it
received; the round checks each against the crc of what that connection must have received.

The round also reads the CPU time of the worker's process group (every process and thread of the
client) around the model's call, in the worker, so the reading leaves out the worker's
``gc.collect`` before the round and the check after it; the harness reads the reference server's.
``bottleneck`` (``workloads.specs.bottleneck``) is ``under_test`` when the client was saturated on
the cores it had, ``peer`` when it was not but the reference server was (then also
``reference_server_bound``), ``neither`` when nothing was saturated.
"""

from __future__ import annotations

import functools
import statistics
from typing import Any, NotRequired, Protocol, TypedDict

from workloads.runtime.errors import WrongResult
from workloads.runtime.proc import own_group_cpu_seconds
from workloads.runtime.window import Window
from workloads.specs.base import CELL_START_S, Round, Workload, median_growth_per_unit
from workloads.specs.bottleneck import bottleneck_of, round_utilisations
from workloads.specs.echo_data import expected_crc
from workloads.specs.schema import PEAK_RSS, RSS_PER_CONNECTION, Chart, Metric, Plan, Schema
from workloads.specs.tcp_echo import messages_per_round

GRID = {
    "quick": ((10,), (1024,)),
    "default": ((10, 100), (1024,)),
    "full": ((1, 10, 100, 1000), (1024, 16 * 1024, 100 * 1024)),
}
"""(connections, message sizes) per profile. The default profile asks the client question at 1 KiB and
10 or 100 connections (the fan-out users ask about); one connection and the larger sizes are in full."""


class Params(TypedDict):
    connections: int
    message_size: int
    round_trips: int
    port: NotRequired[int]
    """The reference server's port, added by the harness for each cell."""


class Implements(Protocol):
    def tcp_client(
        self, variant: str, port: int, connections: int, message_size: int, round_trips: int, window: Window, /
    ) -> list[int]: ...


@functools.lru_cache(maxsize=4096)
def _expected_crc(connection: int, size: int, round_trips: int) -> int:
    """Computed once per cell (10 MB of crc32 at C=10, 1 KiB), not after every round."""
    return expected_crc(connection, size, round_trips)


class TcpClient(Workload[Params]):
    pinned = True
    schema = Schema(
        name="tcp_client",
        order=30,
        question="How fast is the model as a client of many connections?",
        scenario="client fan-out",
        metrics=(
            Metric("throughput_msgs_per_s", "throughput", "msgs/s", higher_is_better=True, headline=True),
            Metric("throughput_bytes_per_s", "throughput (bytes)", "bytes/s", higher_is_better=True, table=False),
            Metric("client_cpu_util", "client CPU use", "share"),
            Metric("client_cpu_per_msg_s", "client CPU / msg", "s", table=False),
            Metric("reference_server_cpu_util", "reference server CPU use", "share"),
            RSS_PER_CONNECTION,
            PEAK_RSS,
        ),
        charts=(
            Chart(
                "throughput_msgs_per_s",
                "connections",
                "throughput_vs_connections",
                "How many round trips per second can each model drive as a client as connections grow?",
            ),
            Chart(
                "rss_per_connection_bytes",
                "connections",
                "memory_per_connection",
                "How many bytes of client memory does each open connection cost in each model?",
                section="memory",
            ),
        ),
        flags=("reference_server_bound",),
    )

    def grid(self, profile: str) -> list[Params]:
        connections, sizes = GRID[profile]
        return [
            Params(connections=c, message_size=size, round_trips=max(1, messages_per_round(profile, c) // c))
            for size in sizes
            for c in connections
        ]

    def run_round(self, model: Implements, variant: str, params: Params) -> dict[str, Any]:
        port, connections = int(params["port"]), int(params["connections"])
        size, round_trips = int(params["message_size"]), int(params["round_trips"])
        window = Window()
        # own_group_cpu_seconds keeps the time of threads that end in the round (a thread per connection)
        cpu_before = own_group_cpu_seconds()
        crcs = model.tcp_client(variant, port, connections, size, round_trips, window)
        client_cpu = own_group_cpu_seconds() - cpu_before
        if len(crcs) != connections:
            raise WrongResult(f"expected {connections} per-connection checksums, got {len(crcs)}")
        for index, crc in enumerate(crcs):
            if crc != _expected_crc(index, size, round_trips):
                raise WrongResult(f"connection {index}: the bytes received differ from the bytes sent (crc32 mismatch)")
        metrics = {"messages": connections * round_trips, "client_cpu_s": client_cpu}
        return {"quanta": window.quanta, "metrics": metrics}

    def expected_round_s(self, params: Params) -> float:
        return params["round_trips"] * (15e-6 + params["message_size"] * 1e-9)

    def expected_cell_s(self, params: Params, plan: Plan, profile: str) -> float:
        """The client's worker and the reference server both start."""
        return 2 * CELL_START_S + super().expected_cell_s(params, plan, profile)

    def summarize(self, rounds: list[Round], params: Params) -> dict[str, Any]:
        throughput = statistics.median(r.metrics["messages"] / r.seconds for r in rounds)
        verdict = bottleneck_of(rounds, "client", "reference_server")
        return {
            "throughput_msgs_per_s": throughput,
            "throughput_bytes_per_s": throughput * params["message_size"],
            "client_cpu_util": statistics.median(round_utilisations(rounds, "client")),
            "client_cpu_per_msg_s": statistics.median(
                r.metrics["client_cpu_s"] / r.metrics["messages"] for r in rounds
            ),
            "reference_server_cpu_util": statistics.median(round_utilisations(rounds, "reference_server")),
            **verdict,
            "reference_server_bound": verdict["bottleneck"] == "peer",
            "rss_per_connection_bytes": median_growth_per_unit(rounds, params["connections"]),
        }


WORKLOAD = TcpClient()
