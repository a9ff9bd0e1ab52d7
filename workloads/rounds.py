"""Which workloads a worker can run: name -> function that runs one checked round.

Each round function takes the model's implementation and the request's
parameters and returns ``{"quanta": <timed window>, "metrics": {...}}``, or
raises ``WrongResult``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from workloads import cpu_mixed, sleep_fanout, tcp_client, timeout_cancel

RoundRunner = Callable[[Any, dict[str, Any]], dict[str, Any]]

WORKLOADS: dict[str, RoundRunner] = {
    "sleep_fanout": sleep_fanout.run_round,
    "tcp_client": tcp_client.run_round,
    "timeout_cancel": timeout_cancel.run_round,
    "cpu_mixed": cpu_mixed.run_round,
}
