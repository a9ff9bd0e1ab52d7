"""Organise a run's results: by workload, by group (models on identical work), ranked by median.

Workloads come in the order their schemas give (``order``; workloads without one last, by name), groups
within a workload by their parameter values compared as numbers, so N=100 comes before N=1000. The
judging of a group (baseline, intervals, ties) is ``reports.judge.ranking``. Stdlib only.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from reports.judge.families import model_sort_key
from reports.read.run import Result
from reports.read.schemas import WorkloadSchema

Schemas = Mapping[str, WorkloadSchema]


def value_key(value: Any) -> tuple[int, float, str]:
    """Sort numbers numerically, before anything else (compared as text)."""
    return (0, float(value), "") if _is_num(value) else (1, 0.0, str(value))


def params_key(params: dict[str, Any]) -> tuple[tuple[int, float, str], ...]:
    return tuple(value_key(v) for v in params.values())


def workload_key(workload: str, schemas: Schemas | None = None) -> tuple[int, str]:
    schema = (schemas or {}).get(workload)
    return (schema.order, workload) if schema is not None else (1_000_000, workload)


def by_workload(results: Iterable[Result], schemas: Schemas | None = None) -> dict[str, list[Result]]:
    out: dict[str, list[Result]] = {}
    for result in results:
        out.setdefault(result.workload, []).append(result)
    return {w: out[w] for w in sorted(out, key=lambda w: workload_key(w, schemas))}


def by_group(results: Iterable[Result], schemas: Schemas | None = None) -> dict[str, list[Result]]:
    """Groups in report order; each group's results ranked fastest (lowest median) first."""
    out: dict[str, list[Result]] = {}
    for result in results:
        out.setdefault(result.group, []).append(result)
    order = sorted(out, key=lambda g: (workload_key(out[g][0].workload, schemas), params_key(out[g][0].params), g))
    return {g: ranked(out[g]) for g in order}


def ranked(results: Iterable[Result]) -> list[Result]:
    return sorted(results, key=lambda r: (r.stats.median, r.label))


def varying(results: list[Result]) -> dict[str, list[Any]]:
    """The parameters whose value differs between results, with their sorted distinct values."""
    keys: list[str] = []
    for result in results:
        keys.extend(k for k in result.params if k not in keys)
    out = {}
    for key in keys:
        values = {_hashable(r.params.get(key)) for r in results}
        if len(values) > 1:
            out[key] = sorted(values, key=value_key)
    return out


def constant_params(results: list[Result]) -> dict[str, Any]:
    changing = varying(results)
    first = results[0].params if results else {}
    return {k: v for k, v in first.items() if k not in changing}


def series_order(results: Iterable[Result]) -> list[str]:
    """Distinct series labels in a stable legend order (family, then model, then variant)."""
    seen: dict[str, Result] = {}
    for result in results:
        seen.setdefault(result.label, result)
    return sorted(seen, key=lambda label: (model_sort_key(seen[label].model), label))


def _is_num(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _hashable(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool | None) else repr(value)


def heaviest(groups: dict[str, list[Result]]) -> str:
    """The group with the largest parameters (the last in report order): where differences show most."""
    return list(groups)[-1]


def geomean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else math.nan


def determined_by(results: list[Result], x: str, key: str) -> bool:
    """True when each value of x comes with one value of key (tcp_client's round_trips follows connections)."""
    seen: dict[Any, Any] = {}
    for result in results:
        value = _hashable(result.params.get(key))
        if seen.setdefault(_hashable(result.params.get(x)), value) != value:
            return False
    return True


def panel_keys(results: list[Result], x: str) -> list[str]:
    """Parameters that vary independently of x: each combination gets its own panel or figure."""
    return [k for k in varying(results) if k != x and not determined_by(results, x, k)]


def derived_keys(results: list[Result], x: str) -> list[str]:
    """Parameters that vary only together with x (named in the title, not given panels)."""
    return [k for k in varying(results) if k != x and determined_by(results, x, k)]
