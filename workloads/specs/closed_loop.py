"""The metrics of a closed-loop server cell (``tcp_echo``, ``http_server``) from its measured rounds.

The suite's load generator reports, per round, the exchanges it completed (``messages``), their
latency percentiles and its own working CPU and waiting; the harness adds the server's CPU. Both
workloads derive the same figures, named per exchange (``msg`` for an echo, ``request`` for HTTP).
"""

from __future__ import annotations

import statistics
from typing import Any

from workloads.specs.base import Round
from workloads.specs.bottleneck import bottleneck_of, round_utilisations

LATENCY_KEYS = ("p50", "p90", "p99", "p999")


def closed_loop_metrics(rounds: list[Round], per: str, throughput_key: str) -> dict[str, Any]:
    """Medians over ``rounds``: throughput (``throughput_key``), CPU per exchange (``server_cpu_per_{per}_s``,
    ``generator_cpu_per_{per}_s``), both sides' utilisation, the bottleneck and the latency percentiles."""
    exchanges = [r.metrics["messages"] for r in rounds]
    cpu = [r.metrics["server_cpu_s"] for r in rounds]
    generator_cpu = [r.metrics["generator_cpu_s"] for r in rounds]
    verdict = bottleneck_of(rounds, "server", "generator")
    metrics: dict[str, Any] = {
        throughput_key: statistics.median([n / r.seconds for n, r in zip(exchanges, rounds, strict=True)]),
        "server_cpu_s": statistics.median(cpu),
        f"server_cpu_per_{per}_s": statistics.median([c / n for c, n in zip(cpu, exchanges, strict=True)]),
        "server_cpu_util": statistics.median(round_utilisations(rounds, "server")),
        f"generator_cpu_per_{per}_s": statistics.median([c / n for c, n in zip(generator_cpu, exchanges, strict=True)]),
        "generator_cpu_util": statistics.median(round_utilisations(rounds, "generator")),
        # the share of the round a spinning generator spent polling with nothing to read
        "generator_wait_share": statistics.median([r.metrics["generator_wait_s"] / r.seconds for r in rounds]),
        **verdict,
        "client_bound": verdict["bottleneck"] == "peer",
        "latency_max_s": max(r.metrics["latency_max_s"] for r in rounds),
    }
    for name in LATENCY_KEYS:
        key = f"latency_{name}_s"
        metrics[key] = statistics.median([r.metrics[key] for r in rounds])
    return metrics
