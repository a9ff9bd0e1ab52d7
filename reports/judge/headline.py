"""A group's headline metric against the baseline, with an interval, and the ideal round time it implies.

The saved rounds are round times; a workload's headline metric (overhead per task, throughput, cancel
cost, speed-up, ...) is derived from the median round time by the workload. Within one group every cell
did identical work, so the metric is the same function of the median for all of them: either affine in
the median (``metric = a + b * median``: overheads above an ideal) or affine in its inverse (rates,
speed-ups). That relation is fitted from the group's own cells (the one that fits best; with two cells,
the one the metric's direction suggests), and each cell's bootstrap medians are mapped through it, so
the ratio of the metric to the baseline's gets an interval without knowing the workload. Where the fit
is affine in the median with a positive ideal ``-a / b`` below every median, that ideal is what the
bar charts start from. Where nothing fits, the ratio of round times stands in. Stdlib only.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from reports.judge.metrics import higher_is_better
from reports.judge.ranking import Judged, Verdict, widened
from reports.judge.stats import percentile_interval
from reports.read.schemas import WorkloadSchema

FIT_TOLERANCE = 0.02
"""Largest relative residual for a relation to count as the workload's."""


@dataclass(frozen=True)
class Advantage:
    """How much better (> 1) or worse (< 1) than the baseline a cell is on a metric, with its 95% interval."""

    value: float
    ci: tuple[float, float]
    metric: str
    """The metric compared, or ``round time`` when no relation fitted."""

    @property
    def tied(self) -> bool:
        return not (self.ci[0] > 1.0 or self.ci[1] < 1.0)


@dataclass(frozen=True)
class Relation:
    inverse: bool
    a: float
    b: float

    def __call__(self, median: float) -> float:
        g = 1.0 / median if self.inverse else median
        return self.a + self.b * g

    @property
    def ideal(self) -> float | None:
        """The median at which the metric would be 0 (affine relations only)."""
        if self.inverse or self.b <= 0 or self.a >= 0:
            return None
        return -self.a / self.b


def relation(verdict: Verdict, key: str, schema: WorkloadSchema | None) -> Relation | None:
    points = [(c.result.stats.median, v) for c in verdict.cells if (v := c.result.metric(key)) is not None]
    points = [(m, v) for m, v in points if m > 0]
    if len({m for m, _ in points}) < 2:
        return None
    prefer_inverse = higher_is_better(key, schema)
    fits = [f for f in (_fit(points, inverse=prefer_inverse), _fit(points, inverse=not prefer_inverse)) if f]
    good = [f for f in fits if f[1] <= FIT_TOLERANCE]
    if not good:
        return None
    return min(good, key=lambda f: f[1])[0] if len(points) > 2 else good[0][0]


def ideal_time(verdict: Verdict, schema: WorkloadSchema | None) -> float | None:
    """The ideal round time the speed headline implies, when it lies below every cell's median."""
    key = schema.speed_headline if schema is not None else None
    rel = relation(verdict, key, schema) if key else None
    ideal = rel.ideal if rel is not None else None
    fastest = min(c.result.stats.median for c in verdict.cells)
    if ideal is None or not 0.01 * fastest < ideal < fastest:
        return None
    return ideal


def advantages(verdict: Verdict, schema: WorkloadSchema | None) -> dict[str, Advantage]:
    """Per cell label, its advantage over the baseline on the speed headline (else on round time)."""
    base = verdict.baseline
    if base is None:
        return {}
    key = schema.speed_headline if schema is not None else None
    rel = relation(verdict, key, schema) if key else None
    out = {}
    for cell in verdict.cells:
        adv = _metric_advantage(cell, base, key, rel, schema) if key and rel else None
        out[cell.label] = adv or _time_advantage(cell)
    return out


def _metric_advantage(
    cell: Judged, base: Judged, key: str, rel: Relation, schema: WorkloadSchema | None
) -> Advantage | None:
    mine, theirs = cell.result.metric(key), base.result.metric(key)
    if mine is None or theirs is None or mine <= 0 or theirs <= 0:
        return None
    better: Callable[[float, float], float] = (
        (lambda x, b: x / b) if higher_is_better(key, schema) else (lambda x, b: b / x)
    )
    point = better(mine, theirs)
    if cell is base:
        return Advantage(1.0, (1.0, 1.0), key)
    fitted = better(rel(cell.result.stats.median), rel(base.result.stats.median))
    pairs = [(rel(x), rel(b)) for x, b in zip(cell.boot, base.boot, strict=True)]
    samples = [better(x, b) for x, b in pairs if x > 0 and b > 0]
    if not samples or fitted <= 0 or len(samples) < 0.975 * len(pairs):
        return Advantage(point, (0.0, math.inf), key)
    low, high = widened(widened(percentile_interval(samples), cell.process_spread), base.process_spread)
    return Advantage(point, (low * point / fitted, high * point / fitted), key)


def _time_advantage(cell: Judged) -> Advantage:
    if cell.ratio is None or cell.ratio <= 0:
        return Advantage(math.nan, (0.0, math.inf), "round time")
    low, high = cell.ratio_ci or (math.nan, math.nan)
    ci = (1 / high if high > 0 else math.inf, 1 / low if low > 0 else math.inf)
    return Advantage(1 / cell.ratio, ci, "round time")


def _fit(points: list[tuple[float, float]], *, inverse: bool) -> tuple[Relation, float] | None:
    gs = [1.0 / m if inverse else m for m, _ in points]
    ys = [v for _, v in points]
    mg, my = sum(gs) / len(gs), sum(ys) / len(ys)
    spread = sum((g - mg) ** 2 for g in gs)
    if spread <= 0:
        return None
    b = sum((g - mg) * (y - my) for g, y in zip(gs, ys, strict=True)) / spread
    a = my - b * mg
    scale = max(abs(y) for y in ys) or 1.0
    residual = max(abs(y - (a + b * g)) for g, y in zip(gs, ys, strict=True)) / scale
    return Relation(inverse, a, b), residual
