"""Workload ``tcp_client``: the model is the client of a shared reference echo server.

The "many concurrent downloads" shape: the model opens C connections
concurrently and does M closed-loop round trips of S bytes on each. Each model
implements

    tcp_client(port: int, connections: int, message_size: int, round_trips: int,
               window: Window) -> list[int]

returning, per connection, the crc32 of every byte it received; this module
checks each against the crc of what that connection must have received.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from workloads.checks import WrongResult
from workloads.echo_support import expected_crc
from workloads.window import Window

TcpClient = Callable[[int, int, int, int, Window], list[int]]


def run_round(tcp_client: TcpClient, params: dict[str, Any]) -> dict[str, Any]:
    port = int(params["port"])
    connections = int(params["connections"])
    size = int(params["message_size"])
    round_trips = int(params["round_trips"])
    window = Window()
    crcs = tcp_client(port, connections, size, round_trips, window)
    if len(crcs) != connections:
        raise WrongResult(f"expected {connections} per-connection checksums, got {len(crcs)}")
    for index, crc in enumerate(crcs):
        if crc != expected_crc(index, size, round_trips):
            raise WrongResult(f"connection {index}: the bytes received differ from the bytes sent (crc32 mismatch)")
    return {"quanta": window.quanta, "metrics": {"messages": connections * round_trips}}
