"""Memory figures within their resolution, and extrapolation only where two sizes support it.

Peak RSS is read in whole pages, so a per-task (or per-connection) figure over N units cannot resolve
less than one page over N: ``PAGE_BYTES / N``. N is the parameter the workload's schema charts the
metric against (``n``, ``connections``). Values below it are shown as "< resolution"; two models whose
figures differ by less than it are not ranked apart. The cost of 100 000 tasks is extrapolated only from
the slope of total growth across at least two sizes, never from one point. Stdlib only.
"""

from __future__ import annotations

from reports.read.run import Result
from reports.read.schemas import WorkloadSchema

PAGE_BYTES = 4096
SCALE_OUT_UNITS = 100_000


def resolution(result: Result, key: str, schema: WorkloadSchema | None) -> float | None:
    """One page over the number of units the metric is divided by, or None when that number is unknown."""
    x = schema.units_of(key) if schema is not None else None
    units = result.params.get(x) if x else None
    if isinstance(units, bool) or not isinstance(units, int | float) or units <= 0:
        return None
    return PAGE_BYTES / units


def apart(a: Result, b: Result, key: str, schema: WorkloadSchema | None) -> bool:
    """True when the two figures differ by at least the coarser of their resolutions."""
    va, vb = a.metric(key), b.metric(key)
    if va is None or vb is None:
        return False
    res = max(resolution(a, key, schema) or 0.0, resolution(b, key, schema) or 0.0)
    return abs(va - vb) >= res and max(va, vb) >= res


def marginal_cost(results: list[Result], key: str, schema: WorkloadSchema | None) -> float | None:
    """Bytes per extra unit: least-squares slope of total growth (metric x N) against N, from >= 2 sizes."""
    x = schema.units_of(key) if schema is not None else None
    points = {}
    for r in results:
        units, value = r.params.get(x) if x else None, r.metric(key)
        if isinstance(units, int | float) and not isinstance(units, bool) and units > 0 and value is not None:
            points[float(units)] = value * units
    if len(points) < 2:
        return None
    xs, ys = list(points), list(points.values())
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((v - mx) ** 2 for v in xs)
    return sum((a - mx) * (b - my) for a, b in zip(xs, ys, strict=True)) / spread if spread else None
