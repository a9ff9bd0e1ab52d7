"""What every workload definition declares: its metrics, its charts, its rounds per profile.

A workload module (``workloads/specs/<name>.py``) owns everything about one workload: the
parameter type that the cell builder writes and the worker's round reads, the grid of parameters
per profile, the result check, the derived metrics, and the schema of those metrics. The harness
writes the schema into every saved run (``corobench.workloads``), so the report labels, orders and
ranks a workload it has never heard of from the JSON alone.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

PROFILES = ("quick", "default", "full")


@dataclass(frozen=True)
class Metric:
    """One metric a workload records under ``extra_info[key]``."""

    key: str
    label: str
    unit: str
    """``s``, ``bytes``, ``msgs/s``, ``bytes/s``, ``ratio``, ``share``, ``count`` or ``flag``."""
    higher_is_better: bool = False
    headline: bool = False
    """Named in the generated advice and the decision matrix."""
    table: bool = True
    """Shown as a column of the group's table."""


@dataclass(frozen=True)
class Chart:
    """A scaling chart: ``metric`` against the parameter ``x`` (log x), one line per model."""

    metric: str
    x: str
    name: str
    question: str
    guides: bool = False
    """Draw the one-core and all-cores ideals (speed-up charts)."""
    section: str = ""
    """``memory`` puts the chart in the report's memory section."""


@dataclass(frozen=True)
class Plan:
    """How many rounds to run for a cell."""

    rounds: int
    warmup_rounds: int


@dataclass(frozen=True)
class Schema:
    """The self-description of a workload that travels with every saved run."""

    name: str
    order: int
    """Position in reports (smaller first)."""
    question: str
    scenario: str
    """The decision-matrix column this workload answers (e.g. ``many idle tasks``)."""
    metrics: tuple[Metric, ...]
    charts: tuple[Chart, ...] = ()
    flags: tuple[str, ...] = field(default=())
    """``extra_info`` keys that mark a cell as not measuring the side under test (e.g. ``client_bound``)."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


ROUNDS = {
    "quick": Plan(rounds=3, warmup_rounds=1),
    "default": Plan(rounds=10, warmup_rounds=2),
    "full": Plan(rounds=20, warmup_rounds=3),
}
"""For cells whose rounds are short (tens of milliseconds)."""

FEW_ROUNDS = {
    "quick": Plan(rounds=3, warmup_rounds=1),
    "default": Plan(rounds=5, warmup_rounds=1),
    "full": Plan(rounds=10, warmup_rounds=2),
}
"""For cells whose rounds last 0.2 s or more: fewer rounds keep the default profile near 10 minutes."""

RSS_PER_TASK = Metric("rss_per_task_bytes", "memory / task", "bytes", headline=True)
RSS_PER_CONNECTION = Metric("rss_per_connection_bytes", "memory / connection", "bytes", headline=True)
PEAK_RSS = Metric("peak_rss_bytes", "peak RSS", "bytes", table=False)
