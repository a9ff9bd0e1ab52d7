"""A metric's label, unit, direction and table placement, read from the run's workload schema.

Metric keys are corobench's stable ``extra_info`` names; ``reports.read.schemas`` gives each workload's
declared metrics. A metric no schema declares (or a workload without a schema) is still shown: named
from its key, its unit read from the key's suffix, higher-is-better for rates. A metric a result lacks
is shown as missing, never an error. Stdlib only.
"""

from __future__ import annotations

import re

from reports.read.format import CELL_KEYS
from reports.read.run import Result
from reports.read.schemas import MetricSpec, WorkloadSchema, guess_unit

NOT_METRICS = frozenset(key.name for key in CELL_KEYS if not key.column)
"""The saved run's own facts (``reports.read.format``) that are not measurements: never a table column."""
_LATENCY = re.compile(r"^latency_p(\d+)_s$")


FORMAT_LABELS = {"gc_share": "collector share", "gc_pause_s": "GC pauses in window"}
"""Labels of format-level keys (``reports.read.format``) that tables show beside a schema's own metrics."""


def spec(key: str, schema: WorkloadSchema | None) -> MetricSpec:
    declared = schema.metric(key) if schema is not None else None
    if declared is not None:
        return declared
    unit = guess_unit(key)
    return MetricSpec(
        key,
        FORMAT_LABELS.get(key, key.replace("_", " ")),
        unit,
        higher_is_better=unit.endswith("/s") or unit == "ratio",
    )


def label(key: str, schema: WorkloadSchema | None = None) -> str:
    return spec(key, schema).label


def unit(key: str, schema: WorkloadSchema | None = None) -> str:
    return spec(key, schema).unit


def higher_is_better(key: str, schema: WorkloadSchema | None = None) -> bool:
    return spec(key, schema).higher_is_better


def table_columns(schema: WorkloadSchema | None, results: list[Result]) -> list[str]:
    """The metric columns a group's table shows: the schema's table metrics, else every numeric metric saved;
    and the collector's share wherever a cell's window saw a collection, whatever the schema names."""
    if schema is not None and schema.metrics:
        keys = [m.key for m in schema.metrics if m.table]
        columns = [key for key in keys if any(r.metric(key) is not None for r in results)]
        if any((r.metric("gc_pause_s") or 0) > 0 and r.metric("gc_share") is not None for r in results):
            columns += [] if "gc_share" in columns else ["gc_share"]
        return columns
    return sorted({key for r in results for key in r.extra if key not in NOT_METRICS and r.metric(key) is not None})


def latency_keys(results: list[Result]) -> list[str]:
    """The latency percentiles the results carry (``latency_p50_s``, ..., ``latency_p999_s``), lowest first."""
    found = {key for r in results for key in r.extra if _LATENCY.match(key) and r.metric(key) is not None}
    return sorted(found, key=_percentile)


def _percentile(key: str) -> float:
    match = _LATENCY.match(key)
    digits = match.group(1) if match else "0"
    return float(digits[:2] + "." + digits[2:]) if len(digits) > 2 else float(digits)
