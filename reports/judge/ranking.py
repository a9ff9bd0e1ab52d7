"""Judge each group of one run: a fixed baseline, bootstrap intervals, a winner only when it is separated.

- Every cell's median round time gets a 95% percentile-bootstrap interval from its saved rounds
  (``stats.data``), resampled with a seed derived from the cell's group and label, so the same run always
  gives the same report. Runs saved without rounds fall back to the interquartile range.
- The baseline is the group's default asyncio variant, and only when that cell measured asyncio itself
  (bottleneck ``under_test``); otherwise the group has no baseline and no ratios.
- Ranked: production cells whose side under test was saturated. The suite's reference schedulers are
  placed beside them but never win; peer-bound and stalled cells are listed apart and never ranked.
- The leader wins only when its interval does not overlap the runner-up's; otherwise every ranked cell
  whose interval overlaps the leader's is tied for first.
- Ratios to the baseline carry the bootstrap interval of the ratio of the two medians.
- Noise between processes: a cell measured again in fresh workers (``between_processes``) widens its
  interval by half the relative spread of the processes' medians on each side; a cell outside the sample
  takes the median spread of the run's sampled cells. Rounds of one process cannot see that noise.
- A variant saved ``unranked`` (not the same work as the other rows, e.g. a synchronous callback chain
  in a hand-off) is listed but never ranked.
- ``tcp_latency`` and ``http_latency`` groups rank by the brackets the capacity search proved
  (``reports.judge.latency``): a lower bound is ranked, not set apart, and ties are overlapping brackets. Stdlib only.
"""

from __future__ import annotations

import math
import statistics
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, replace

from reports.judge import latency
from reports.judge.groups import by_group
from reports.judge.stats import bootstrap_medians, percentile_interval
from reports.read.run import Result, Run

BASELINE_MODEL = "asyncio"
RESAMPLES = 1000
RANKED, REFERENCE, PEER, STALLED, UNRANKED = "ranked", "reference", "peer", "stalled", "unranked"
ROLE_OF_BOTTLENECK = {"peer": PEER, "neither": STALLED}


@dataclass(frozen=True)
class Judged:
    """One cell judged within its group."""

    result: Result
    ci: tuple[float, float]
    """95% interval of the median round time."""
    boot: tuple[float, ...]
    """Bootstrap medians of the round time (empty without saved rounds)."""
    role: str
    ratio: float | None = None
    """Median / the baseline's median; None without a baseline."""
    ratio_ci: tuple[float, float] | None = None
    place: str = ""
    """``wins`` (separated from the runner-up), ``tied`` (tied for first) or empty."""
    process_spread: float = 0.0
    """Relative spread of the medians of fresh processes folded into ``ci`` (0: none known)."""

    @property
    def label(self) -> str:
        return self.result.label


@dataclass(frozen=True)
class Verdict:
    group: str
    cells: tuple[Judged, ...]
    """Ranked cells fastest first, then reference schedulers, then peer-bound and stalled cells."""
    baseline: Judged | None
    leaders: tuple[Judged, ...]
    proven: latency.ProvenOrder | None = None
    """For open-loop groups (tcp_latency, http_latency): the servers ordered by their capacity brackets."""

    @property
    def ranked(self) -> list[Judged]:
        return [c for c in self.cells if c.role == RANKED]

    @property
    def winner(self) -> Judged | None:
        return self.leaders[0] if len(self.leaders) == 1 else None

    @property
    def params(self) -> dict[str, object]:
        return self.cells[0].result.params

    def of(self, result: Result) -> Judged:
        return next(c for c in self.cells if c.result is result)


Verdicts = dict[str, Verdict]
"""Every group's verdict by group name, in report order."""


def verdicts(run: Run) -> Verdicts:
    """Every group's verdict, in report order. ``reports.build`` calls it once and passes the result on."""
    spread = typical_process_spread(run.results)
    return {g: judge_group(g, rows, spread) for g, rows in by_group(run.results, run.schemas).items()}


def process_spread(result: Result) -> float | None:
    """The relative spread of the cell's medians in fresh worker processes, when it was measured."""
    record = result.extra.get("between_processes")
    value = record.get("spread") if isinstance(record, dict) else None
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def typical_process_spread(results: Sequence[Result]) -> float:
    """The median spread between processes over the run's sampled cells (0 when none was sampled)."""
    found = [s for r in results if (s := process_spread(r)) is not None]
    return statistics.median(found) if found else 0.0


def judge_group(group: str, results: list[Result], typical_spread: float = 0.0) -> Verdict:
    cells = [_judge_cell(group, r, typical_spread) for r in results]
    if results and latency.is_open_loop(results[0].workload):
        return _judge_by_brackets(group, cells)
    base = _baseline(cells)
    if base is not None:
        cells = [_with_ratio(c, base) for c in cells]
        base = next(c for c in cells if c.result is base.result)
    order = {RANKED: 0, REFERENCE: 1, UNRANKED: 2, STALLED: 3, PEER: 4}
    cells.sort(key=lambda c: (order[c.role], c.result.stats.median, c.label))
    ranked = [c for c in cells if c.role == RANKED]
    tied_ids: set[int] = set()
    place = ""
    if ranked:
        top = ranked[0]
        tied_ids = {id(c) for c in ranked if c is top or c.ci[0] <= top.ci[1]}
        place = "tied" if len(tied_ids) > 1 else "wins" if len(ranked) > 1 else ""
    cells = [replace(c, place=place) if id(c) in tied_ids else c for c in cells]
    if base is not None:
        base = next(c for c in cells if c.result is base.result)
    return Verdict(group, tuple(cells), base, tuple(c for c in cells if c.place))


def _judge_by_brackets(group: str, cells: list[Judged]) -> Verdict:
    """A latency group: ranked by proven capacity brackets; lower bounds are ranked, never set apart."""
    order = latency.proven_order([c.result for c in cells if c.role not in (REFERENCE, UNRANKED)])
    rank = {id(p.result): k for k, p in enumerate(order.ranked)}
    leaders = {id(p.result) for p in order.leaders}
    place = "tied" if len(leaders) > 1 else "wins" if len(order.ranked) > 1 else ""
    judged = []
    for cell in cells:
        if id(cell.result) in rank:
            cell = replace(cell, role=RANKED, place=place if id(cell.result) in leaders else "")
        elif cell.role == RANKED:
            cell = replace(cell, role=STALLED)  # nothing proven: no rate met the target and none missed it
        judged.append(cell)
    roles = {RANKED: 0, REFERENCE: 1, UNRANKED: 2, STALLED: 3, PEER: 4}
    judged.sort(key=lambda c: (roles[c.role], rank.get(id(c.result), 0), c.label))
    base = _baseline(judged)
    return Verdict(group, tuple(judged), base, tuple(c for c in judged if c.place), order)


def _judge_cell(group: str, result: Result, typical_spread: float = 0.0) -> Judged:
    data = result.stats.data
    if len(data) >= 2:
        seed = zlib.crc32(f"{group}|{result.label}".encode())
        boot = tuple(bootstrap_medians(data, RESAMPLES, seed))
        ci = percentile_interval(boot)
    else:
        boot, ci = (), (result.stats.q1, result.stats.q3)
    spread = process_spread(result)
    spread = typical_spread if spread is None else spread
    ci = widened(ci, spread)
    if result.extra.get("unranked"):
        role = UNRANKED
    else:
        role = ROLE_OF_BOTTLENECK.get(result.bottleneck, REFERENCE if result.reference_scheduler else RANKED)
    return Judged(result, ci, boot, role, process_spread=spread)


def widened(ci: tuple[float, float], spread: float) -> tuple[float, float]:
    """An interval widened by half a relative spread on each side (multiplicatively, so it stays positive)."""
    factor = 1.0 + spread / 2
    return (ci[0] / factor, ci[1] * factor)


def _baseline(cells: list[Judged]) -> Judged | None:
    """The default asyncio variant, when its own side was saturated."""
    for cell in cells:
        r = cell.result
        if r.model == BASELINE_MODEL and r.default_variant and cell.role == RANKED:
            return cell
    return None


def _with_ratio(cell: Judged, base: Judged) -> Judged:
    b = base.result.stats.median
    if b <= 0:
        return cell
    ratio = cell.result.stats.median / b
    if cell is base:
        return replace(cell, ratio=1.0, ratio_ci=(1.0, 1.0))
    if cell.boot and base.boot:
        ci = percentile_interval([x / y for x, y in zip(cell.boot, base.boot, strict=True) if y > 0])
        ci = widened(widened(ci, cell.process_spread), base.process_spread)
    else:
        ci = (cell.ci[0] / base.ci[1], cell.ci[1] / base.ci[0]) if base.ci[0] > 0 else (math.nan, math.nan)
    return replace(cell, ratio=ratio, ratio_ci=ci)


def separated(a: Judged, b: Judged) -> bool:
    """True when the two cells' intervals of the median do not overlap."""
    return a.ci[1] < b.ci[0] or b.ci[1] < a.ci[0]
