"""Workload ``ping_pong``: two tasks hand a token back and forth, M hand-offs in all.

The greenlet tutorial's first example (two greenlets switching back and forth) grown into a
benchmark: it prices the model's own hand-off primitive, the step under every queue, lock, event and
channel: one task gives a value to another that is waiting for it, and the other runs.

The protocol every model follows, with its own primitive (a switch, a queue, a channel, a pipe):
``ping`` hands token 1 to ``pong``; whichever side receives token t records it and hands t + 1 back.
Hand-off k therefore carries token k, ping makes the odd hand-offs and pong the even ones, and each
side does ``exchanges(M)`` = M / 2 receives (M is even). The model returns the tokens each side
received, in order: ping's must be exactly 2, 4, ..., M and pong's 1, 3, ..., M - 1, so every
hand-off is checked (a lost, repeated, reordered or wrongly incremented token fails the round).

The window opens just before the two tasks are started (two task creations, nothing next to M
hand-offs) and closes when both are done; where a side already exists (the process model's pool
child), only the hand-offs are inside. ``time_per_switch_s`` is the median round time / M.
"""

from __future__ import annotations

from typing import Any, Protocol, TypedDict

from workloads.runtime.errors import WrongResult
from workloads.runtime.window import Window
from workloads.specs.base import Round, Workload, median_seconds
from workloads.specs.schema import ROUNDS, Chart, Metric, Plan, Schema


class Params(TypedDict):
    handoffs: int


class Implements(Protocol):
    def ping_pong(self, variant: str, handoffs: int, window: Window, /) -> tuple[list[int], list[int]]:
        """Run M = ``handoffs`` hand-offs; return (tokens ping received, tokens pong received), in order."""
        ...


HANDOFFS = {"quick": (1_000,), "default": (4_000,), "full": (1_000, 4_000, 20_000)}
"""Measured through the harness on the 2-core VM shared with other runs: two processes over a socket
~35-66 us a hand-off, two OS threads ~7-40 us, so 4 000 hand-offs keep the slowest rounds near
0.15-0.27 s; event loops take 1.5-11 us, direct switches (greenlet, generators) 0.05-0.3 us."""


def exchanges(handoffs: int) -> int:
    """How many tokens each side receives (and hands back) in a round of ``handoffs`` hand-offs."""
    return handoffs // 2


def expected_tokens(handoffs: int) -> tuple[list[int], list[int]]:
    """(ping's tokens, pong's tokens): the even tokens 2..M and the odd tokens 1..M-1."""
    return list(range(2, handoffs + 1, 2)), list(range(1, handoffs, 2))


class PingPong(Workload[Params]):
    schema = Schema(
        name="ping_pong",
        order=60,
        question="What does handing control from one task to another cost?",
        scenario="task hand-off",
        metrics=(Metric("time_per_switch_s", "time / hand-off", "s", headline=True),),
        charts=(
            Chart(
                "time_per_switch_s",
                "handoffs",
                "time_per_switch_vs_handoffs",
                "What does one hand-off between two tasks cost in each model, and is it the same in short and "
                "long rounds?",
            ),
        ),
    )

    def grid(self, profile: str) -> list[Params]:
        return [Params(handoffs=m) for m in HANDOFFS[profile]]

    def plan(self, profile: str) -> Plan:
        return ROUNDS[profile]

    def timeout_s(self, params: Params) -> float:
        return 30.0 + params["handoffs"] * 1e-3

    def expected_round_s(self, params: Params) -> float:
        return params["handoffs"] * 8e-6

    def run_round(self, model: Implements, variant: str, params: Params) -> dict[str, Any]:
        handoffs = int(params["handoffs"])
        if handoffs < 2 or handoffs % 2:
            raise ValueError(f"ping_pong needs an even number of hand-offs >= 2, got {handoffs}")
        window = Window()
        ping_tokens, pong_tokens = model.ping_pong(variant, handoffs, window)
        check_tokens(ping_tokens, pong_tokens, handoffs)
        return {"quanta": window.quanta, "metrics": {"handoffs": handoffs}}

    def summarize(self, rounds: list[Round], params: Params) -> dict[str, Any]:
        return {"time_per_switch_s": median_seconds(rounds) / params["handoffs"]}


def check_tokens(ping_tokens: list[int], pong_tokens: list[int], handoffs: int) -> None:
    """Raise ``WrongResult`` naming the first hand-off whose token is missing or wrong."""
    expected_ping, expected_pong = expected_tokens(handoffs)
    for side, got, expected in (("pong", pong_tokens, expected_pong), ("ping", ping_tokens, expected_ping)):
        if got == expected:
            continue
        for position, (token, want) in enumerate(zip(got, expected, strict=False)):
            if token != want:
                raise WrongResult(
                    f"hand-off {want}: {side} received token {token!r} as its token #{position + 1}, expected {want}"
                )
        if len(got) != len(expected):
            raise WrongResult(
                f"{side} received {len(got)} tokens in {handoffs} hand-offs, expected {len(expected)} "
                f"(its last was {got[-1] if got else None!r})"
            )


WORKLOAD = PingPong()
