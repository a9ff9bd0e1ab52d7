"""Statistics for comparing two runs from their raw per-round times, with the standard library only.

- ``mann_whitney``: two-sided Mann-Whitney U test. Exact p-value from the distribution of U (counted
  by dynamic programming) when there are no ties and both samples are small; otherwise the normal
  approximation with tie correction and continuity correction (``math.erfc``).
- ``bootstrap_ratio_ci``: percentile bootstrap confidence interval of median(new) / median(old),
  resampling each run's rounds with ``random.Random(seed)`` so a report is reproducible.
- ``benjamini_hochberg``: p-values adjusted for testing every benchmark of a run at once, so a
  comparison of 60 benchmarks does not flag about three of them by chance.
- ``smallest_p``: the smallest two-sided p-value the exact test can reach for given sample sizes
  (3 rounds against 3 can never reach 0.05).
- ``bootstrap_medians`` / ``percentile_interval``: the resampled medians of one cell's rounds and the
  95% interval they span, the basis of every "wins" and "tied" in a single-run report.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Sequence
from functools import lru_cache

EXACT_LIMIT = 30
"""Largest sample size per side for the exact U distribution."""


def mann_whitney(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided p-value of the Mann-Whitney U test that a and b come from the same distribution."""
    n1, n2 = len(a), len(b)
    if n1 == 0 or n2 == 0:
        return 1.0
    u = sum(1.0 if x > y else 0.5 if x == y else 0.0 for x in a for y in b)
    ties = len(set(a) | set(b)) < n1 + n2
    if not ties and n1 <= EXACT_LIMIT and n2 <= EXACT_LIMIT:
        counts = _u_counts(n1, n2)
        total = sum(counts)
        k = int(u)
        lower = sum(counts[: k + 1]) / total
        upper = sum(counts[k:]) / total
        return min(1.0, 2 * min(lower, upper))
    return _normal_p(u, a, b)


def _normal_p(u: float, a: Sequence[float], b: Sequence[float]) -> float:
    n1, n2 = len(a), len(b)
    n = n1 + n2
    tie_sizes: dict[float, int] = {}
    for value in (*a, *b):
        tie_sizes[value] = tie_sizes.get(value, 0) + 1
    tie_term = sum(t**3 - t for t in tie_sizes.values()) / (n * (n - 1)) if n > 1 else 0.0
    variance = n1 * n2 / 12 * ((n + 1) - tie_term)
    if variance <= 0:
        return 1.0
    z = max(abs(u - n1 * n2 / 2) - 0.5, 0.0) / math.sqrt(variance)
    return min(1.0, math.erfc(z / math.sqrt(2)))


@lru_cache(maxsize=256)
def _u_counts(n1: int, n2: int) -> tuple[int, ...]:
    """counts[u] = number of orderings of n1 + n2 distinct values in which U (pairs a > b) equals u."""
    previous: list[tuple[int, ...]] = [(1,) for _ in range(n2 + 1)]  # no a-values: U is always 0
    for _ in range(n1):
        row: list[tuple[int, ...]] = [(1,)]  # no b-values: U is always 0
        for j in range(1, n2 + 1):
            largest_is_a = (0,) * j + previous[j]  # the largest value is an a: it beats all j b-values
            largest_is_b = row[j - 1]
            size = max(len(largest_is_a), len(largest_is_b))
            row.append(tuple(_at(largest_is_a, k) + _at(largest_is_b, k) for k in range(size)))
        previous = row
    return previous[n2]


def _at(values: tuple[int, ...], index: int) -> int:
    return values[index] if index < len(values) else 0


def smallest_p(n1: int, n2: int) -> float:
    """The smallest two-sided p-value an exact test on n1 and n2 tie-free rounds can give."""
    if n1 == 0 or n2 == 0:
        return 1.0
    return min(1.0, 2 / math.comb(n1 + n2, n1))


def bootstrap_ratio_ci(
    old: Sequence[float], new: Sequence[float], level: float = 0.95, resamples: int = 1000, seed: int = 12345
) -> tuple[float, float]:
    """Percentile bootstrap interval of median(new) / median(old)."""
    rng = random.Random(seed)
    ratios = []
    for _ in range(resamples):
        old_median = statistics.median(rng.choices(old, k=len(old)))
        new_median = statistics.median(rng.choices(new, k=len(new)))
        if old_median > 0:
            ratios.append(new_median / old_median)
    if not ratios:
        return (math.nan, math.nan)
    ratios.sort()
    tail = (1 - level) / 2
    low = ratios[int(tail * len(ratios))]
    high = ratios[min(len(ratios) - 1, math.ceil((1 - tail) * len(ratios)) - 1)]
    return (low, high)


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values (false discovery rate), in the input order."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [1.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        index = order[rank - 1]
        running = min(running, p_values[index] * m / rank)
        adjusted[index] = min(running, 1.0)
    return adjusted


def bootstrap_medians(data: Sequence[float], resamples: int = 1000, seed: int = 12345) -> list[float]:
    """Medians of ``resamples`` resamples (with replacement) of ``data``, drawn with ``random.Random(seed)``."""
    if not data:
        return []
    rng = random.Random(seed)
    n = len(data)
    return [statistics.median(rng.choices(data, k=n)) for _ in range(resamples)]


def percentile_interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float]:
    """The central ``level`` share of ``values`` (percentile method); (nan, nan) for no values."""
    if not values:
        return (math.nan, math.nan)
    ordered = sorted(values)
    tail = (1 - level) / 2
    low = ordered[int(tail * len(ordered))]
    high = ordered[min(len(ordered) - 1, math.ceil((1 - tail) * len(ordered)) - 1)]
    return (low, high)
