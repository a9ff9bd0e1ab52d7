"""Which side of an echo-style cell set the pace: the side under test, its peer, or neither.

An echo cell has two busy processes: the side under test (the model's server in ``tcp_echo``, the
model's client in ``tcp_client``) and its peer (the load generator, the reference server). Only a
cell whose side under test was saturated ranks that side. Each side's utilisation is its CPU
seconds over the round divided by (the round's seconds x the cores it had), so a multi-process side
given three cores is saturated at 3 CPU-seconds per second, not 1; "the cores it had" are those it
could keep busy: a one-process side given three cores counts one (the harness records
``<side>_cores`` per round accordingly).

- ``under_test``: the side under test was busy at least ``SATURATED_FROM_UTIL`` of its cores.
- ``peer``: it was not, but the peer was: the peer set the pace (the cell measures the peer).
- ``neither``: nothing was saturated: the side under test stalled or waited on latency (a finding
  in itself: a server at 44 % CPU while the same generator drives another server 10x faster).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any, Literal

from workloads.specs.base import Round

Bottleneck = Literal["under_test", "peer", "neither"]
SATURATED_FROM_UTIL = 0.9
"""A side busy for at least this share of the round on every core it had counts as saturated."""


def utilisation(cpu_s: float, seconds: float, cores: int) -> float:
    """CPU seconds over (round seconds x cores): 1.0 is every core busy the whole round."""
    return cpu_s / (seconds * max(1, cores))


def round_utilisations(rounds: Sequence[Round], side: str) -> list[float]:
    """Per round, ``{side}_cpu_s / (seconds x {side}_cores)`` (cores default to 1)."""
    return [utilisation(r.metrics[f"{side}_cpu_s"], r.seconds, int(r.metrics.get(f"{side}_cores", 1))) for r in rounds]


def classify(under_test_util: float, peer_util: float) -> Bottleneck:
    if under_test_util >= SATURATED_FROM_UTIL:
        return "under_test"
    if peer_util >= SATURATED_FROM_UTIL:
        return "peer"
    return "neither"


def bottleneck_of(rounds: Sequence[Round], under_test: str, peer: str) -> dict[str, Any]:
    """``bottleneck`` and ``bottleneck_evidence`` of a cell, from the median utilisation of each side.

    ``under_test`` and ``peer`` name the sides as the rounds' metrics do (``server``/``generator``,
    ``client``/``reference_server``): each round carries ``<side>_cpu_s`` and ``<side>_cores``.
    """
    under_test_rounds = round_utilisations(rounds, under_test)
    peer_rounds = round_utilisations(rounds, peer)
    under_test_util, peer_util = statistics.median(under_test_rounds), statistics.median(peer_rounds)
    evidence = {
        f"{under_test}_cpu_util": under_test_util,
        f"{peer}_cpu_util": peer_util,
        f"{under_test}_cores": int(rounds[0].metrics.get(f"{under_test}_cores", 1)),
        f"{peer}_cores": int(rounds[0].metrics.get(f"{peer}_cores", 1)),
        f"{under_test}_cpu_util_per_round": under_test_rounds,
        f"{peer}_cpu_util_per_round": peer_rounds,
        "saturated_from_util": SATURATED_FROM_UTIL,
    }
    return {"bottleneck": classify(under_test_util, peer_util), "bottleneck_evidence": evidence}
