"""Compare two runs: per benchmark, the ratio of medians NEW/OLD and whether it is more than noise.

Benchmarks are matched by group and series label (model and variant). From the raw round times
(``stats.data``) each pair gets a two-sided Mann-Whitney U p-value, adjusted over all pairs with
Benjamini-Hochberg, and a bootstrap 95% interval of the median ratio (``reports.judge.stats``, stdlib
only); a change counts as real only when the adjusted p < 0.05 and the interval excludes 1.
Without raw data the interquartile ranges are compared instead (said so in the report).
The words are ``reports.write.comparison``'s, the chart ``reports.draw.ratio_chart``'s.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from reports.judge.groups import by_group
from reports.judge.stats import benjamini_hochberg, bootstrap_ratio_ci, mann_whitney, smallest_p
from reports.read.run import Result, Run

ALPHA = 0.05
FASTER, SLOWER, NOISE = "faster", "slower", "within noise"


@dataclass(frozen=True)
class Change:
    old: Result
    new: Result
    ratio: float
    """median(new) / median(old): below 1 is faster."""
    ci: tuple[float, float] | None
    p_value: float | None
    """Mann-Whitney p-value adjusted over every pair of the comparison (Benjamini-Hochberg)."""
    verdict: str

    @property
    def method(self) -> str:
        return "Mann-Whitney U + bootstrap CI" if self.p_value is not None else "interquartile ranges (no raw data)"


@dataclass(frozen=True)
class Comparison:
    old: Run
    new: Run
    changes: list[Change]
    only_old: list[Result]
    only_new: list[Result]

    @property
    def too_few_rounds(self) -> bool:
        """True when some pair has so few rounds that no change could reach significance."""
        return any(
            c.p_value is not None and smallest_p(len(c.old.stats.data), len(c.new.stats.data)) > ALPHA
            for c in self.changes
        )


def compare_runs(old: Run, new: Run) -> Comparison:
    old_by_key = {r.key: r for r in old.results}
    new_by_key = {r.key: r for r in new.results}
    changes = []
    for group, results in by_group(new.results).items():
        for result in sorted(results, key=lambda r: r.label):
            before = old_by_key.get((group, result.label))
            if before is not None:
                changes.append(assess(before, result))
    changes = _adjust(changes)
    only_old = [r for key, r in old_by_key.items() if key not in new_by_key]
    only_new = [r for key, r in new_by_key.items() if key not in old_by_key]
    return Comparison(old, new, changes, only_old, only_new)


def assess(old: Result, new: Result) -> Change:
    """One pair on its own (p-value not yet adjusted for the other pairs)."""
    ratio = new.stats.median / old.stats.median if old.stats.median > 0 else float("inf")
    a, b = old.stats.data, new.stats.data
    if len(a) >= 2 and len(b) >= 2:
        p = mann_whitney(a, b)
        return _judged(Change(old, new, ratio, bootstrap_ratio_ci(a, b), p, NOISE))
    if new.stats.q3 < old.stats.q1:
        verdict = FASTER
    elif new.stats.q1 > old.stats.q3:
        verdict = SLOWER
    else:
        verdict = NOISE
    return Change(old, new, ratio, None, None, verdict)


def _judged(change: Change) -> Change:
    if change.p_value is None or change.ci is None:
        return change
    real = change.p_value < ALPHA and not (change.ci[0] <= 1.0 <= change.ci[1])
    return replace(change, verdict=(FASTER if change.ratio < 1 else SLOWER) if real else NOISE)


def _adjust(changes: list[Change]) -> list[Change]:
    tested = [i for i, c in enumerate(changes) if c.p_value is not None]
    adjusted = benjamini_hochberg([changes[i].p_value or 0.0 for i in tested])
    out = list(changes)
    for i, q in zip(tested, adjusted, strict=True):
        out[i] = _judged(replace(changes[i], p_value=q))
    return out
