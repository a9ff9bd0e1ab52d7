"""cpu_mixed on one calibration per run, so speed-ups compare across models.

Each worker times one task's CPU work itself (``task_cpu_s``) and derives its ideals and speed-up from
that; the calibration varies between workers by up to ~20 %, so per-model speed-ups could rank models
against their own times. Here every result of a group that carries ``task_cpu_s``, ``ideal_one_core_s``
and ``speedup_vs_one_core`` is recomputed from the group's median ``task_cpu_s`` across all models:
ideal on one core = delay + n x CPU per task, on all cores = delay + n x CPU per task / cores, and
speed-up = ideal on one core / the median round time. The worker's own figure is kept as
``task_cpu_own_s``. Stdlib only.
"""

from __future__ import annotations

import statistics
from dataclasses import replace

from reports.judge.groups import by_group
from reports.read.run import Result, Run

CALIBRATED = ("task_cpu_s", "ideal_one_core_s", "speedup_vs_one_core")


def one_calibration(run: Run) -> Run:
    """The run with every calibrated group recomputed from the group's median CPU per task."""
    changed: dict[int, Result] = {}
    for rows in by_group(run.results).values():
        members = [r for r in rows if all(r.metric(k) is not None for k in CALIBRATED) and _n_delay(r)]
        if len(members) < 2:
            continue
        common = statistics.median(r.metric("task_cpu_s") or 0.0 for r in members)
        for r in members:
            changed[id(r)] = _recalibrated(r, common)
    if not changed:
        return run
    return replace(run, results=tuple(changed.get(id(r), r) for r in run.results))


def _n_delay(result: Result) -> tuple[float, float] | None:
    n, delay = result.params.get("n"), result.params.get("delay")
    if isinstance(n, bool) or isinstance(delay, bool):
        return None
    if isinstance(n, int | float) and isinstance(delay, int | float):
        return (float(n), float(delay))
    return None


def _recalibrated(result: Result, task_cpu: float) -> Result:
    n, delay = _n_delay(result) or (0.0, 0.0)
    cores = result.metric("cores") or 1.0
    one_core = delay + n * task_cpu
    extra = dict(result.extra)
    extra.update(
        task_cpu_own_s=result.metric("task_cpu_s"),
        task_cpu_s=task_cpu,
        ideal_one_core_s=one_core,
        ideal_all_cores_s=delay + n * task_cpu / cores,
        cpu_share=n * task_cpu / one_core if one_core else None,
        speedup_vs_one_core=one_core / result.stats.median if result.stats.median > 0 else None,
        calibration="median CPU per task of the group's models",
    )
    return replace(result, extra=extra)
