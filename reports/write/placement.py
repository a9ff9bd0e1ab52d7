"""Where a run's sides ran, in one sentence: one host (peers beside the servers) or two (with the round trip).

Read from the run's ``placement`` record (``benchmarks.harness.peer_host.describe_placement``). Runs saved
before it was recorded ran on one host: the peers could only share the machine then.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _host(facts: Mapping[str, Any]) -> str:
    cores = facts.get("cores")
    parts = [
        str(facts.get("cpu_model", "?")),
        f"{cores} cores" if cores else "",
        str(facts.get("kernel", "")),
        str(facts.get("python", "")),
    ]
    return ", ".join(part for part in parts if part)


def placement_text(placement: Mapping[str, Any]) -> str:
    """``Two hosts: …`` or ``One host: …``, for the environment table and the caveats."""
    if placement.get("hosts") != 2:
        return (
            "One host: each load generator shared this machine with the server under test, on a core of its own "
            "(the server had the rest)."
        )
    server = placement.get("server_host", {})
    if placement.get("error"):
        return f"Two hosts asked for, the peer host unusable: {placement['error']}"
    peer = placement.get("peer_host", {})
    rtt = placement.get("round_trip_us", {})
    return (
        f"Two hosts: servers on {server.get('hostname', '?')} ({_host(server)}), bound to {placement.get('bind')}, "
        f"with every core; load generators on {peer.get('destination', '?')} ({_host(peer)}) over ssh. Idle round "
        f"trip {rtt.get('median', 0):.0f} µs (median of {rtt.get('count', '?')}, min {rtt.get('min', 0):.0f} µs)."
    )
