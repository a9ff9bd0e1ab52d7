"""The cyclic collector's part in a result: its share of the round, the regime, and orders that hang on it.

Every in-worker cell saves ``gc_pause_s`` (median collector pause inside a round's window), ``gc_share``
(the median of each round's pauses over its time) and ``gc_regime`` (``auto``, ``frozen`` or ``off``:
``workloads.runtime.collector``). Here:

- ``share(result)``: the collector's share of the round (older runs: median pause over median round);
- ``heavy(result)``: that share reaches ``GC_SHARE_MARK``, so a verdict involving the cell is marked;
- ``split_regimes(results)``: the cells of the main regime (``auto`` where the run has it), which every
  other section reads as it always has, and the rest, which only the collector's section compares;
- ``order_changes(verdicts)``: for each pair of models whose order is separated under one regime, where
  another regime of the same parameters reverses it or ties it. Orders come from
  ``reports.judge.ranking``'s verdicts of each regime's group, so "separated" means what it means
  everywhere else. Stdlib only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from reports.judge.ranking import RANKED, Judged, Verdict, separated
from reports.read.run import Result

AUTO = "auto"
REGIME_ORDER = ("auto", "frozen", "off")
GC_SHARE_MARK = 0.25
"""A collector share at or above this (a quarter of the round) marks a verdict: the figure says as much about
CPython's collector and the program's heap as about the model."""
FAN_OUT_WORKLOADS = ("sleep_fanout", "timeout_cancel")
"""Workloads whose rounds allocate tens of thousands of tracked objects: where the collector's share shows."""


def regime(result: Result) -> str:
    """The regime a cell ran under; runs saved before regimes had names record only ``gc_automatic``."""
    value = result.extra.get("gc_regime")
    if isinstance(value, str):
        return value
    return "off" if result.extra.get("gc_automatic") is False else AUTO


def share(result: Result) -> float | None:
    """The collector's share of the round, when the cell logged its collections."""
    saved = result.metric("gc_share")
    if saved is not None:
        return saved
    pause = result.metric("gc_pause_s")
    median = result.stats.median
    return pause / median if pause is not None and median > 0 else None


def heavy(result: Result) -> bool:
    return (share(result) or 0.0) >= GC_SHARE_MARK


def share_text(result: Result) -> str:
    """``GC 70%`` for a heavy share, else empty."""
    value = share(result)
    return f"GC {value * 100:.0f}%" if value is not None and value >= GC_SHARE_MARK else ""


def main_regime(results: Iterable[Result]) -> str:
    """``auto`` where the run has it, else the first regime it has (a run of ``--gc=frozen`` alone)."""
    found = {regime(r) for r in results}
    return next((name for name in REGIME_ORDER if name in found), min(found, default=AUTO))


def split_regimes(results: Sequence[Result]) -> tuple[tuple[Result, ...], tuple[Result, ...]]:
    """(cells of the main regime, cells of every other regime)."""
    main = main_regime(results)
    return tuple(r for r in results if regime(r) == main), tuple(r for r in results if regime(r) != main)


def same_work_key(result: Result) -> tuple[str, str, str]:
    """What a group compares apart from its regime: the workload, its parameters and the interpreter."""
    params = ",".join(f"{k}={v}" for k, v in result.params.items())
    return result.workload, params, str(result.extra.get("interpreter") or "")


@dataclass(frozen=True)
class OrderChange:
    """Two models ordered under one regime and not (or the other way round) under another."""

    faster: str
    slower: str
    holds_under: str
    other_regime: str
    reversed: bool
    """True: the other regime separates them the other way; False: it ties them."""
    where: str
    key: tuple[str, str, str]
    """``same_work_key`` of the groups compared."""


def _default_cells(verdict: Verdict) -> dict[str, Judged]:
    return {c.result.model: c for c in verdict.cells if c.role == RANKED and c.result.default_variant}


def order_changes(regime_verdicts: dict[str, list[Verdict]]) -> list[OrderChange]:
    """For each set of same-work groups (``regime_groups``), the model pairs whose order depends on the regime."""
    changes = []
    for where, verdicts in regime_verdicts.items():
        key = same_work_key(verdicts[0].cells[0].result)
        by_regime = {regime(v.cells[0].result): _default_cells(v) for v in verdicts}
        names = sorted(by_regime, key=_regime_rank)
        for other in names[1:]:
            changes.extend(_pair_changes(by_regime[names[0]], by_regime[other], names[0], other, where, key))
    return changes


def _pair_changes(
    first: dict[str, Judged], second: dict[str, Judged], base: str, other: str, where: str, key: tuple[str, str, str]
) -> list[OrderChange]:
    out = []
    models = sorted(set(first) & set(second))
    for i, a in enumerate(models):
        for b in models[i + 1 :]:
            one = _order(first[a], first[b])
            two = _order(second[a], second[b])
            if one == two or (one is None and two is None):
                continue
            if one is not None and two is not None:  # reversed: say both orders
                out.append(OrderChange(*one, base, other, True, where, key))
            elif one is not None:
                out.append(OrderChange(*one, base, other, False, where, key))
            elif two is not None:
                out.append(OrderChange(*two, other, base, False, where, key))
    return out


BASELINE = "asyncio"


@dataclass(frozen=True)
class BaselineOrder:
    """A model whose round the collector weighs on (``heavy`` under the first regime), against the baseline."""

    model: str
    where: str
    relation: tuple[tuple[str, str], ...]
    """(regime, ``ahead of`` / ``behind`` / ``tied with``) in regime order."""

    @property
    def holds(self) -> bool:
        return len({how for _, how in self.relation}) == 1


def baseline_orders(regime_verdicts: dict[str, list[Verdict]], baseline: str = BASELINE) -> list[BaselineOrder]:
    """For each heavy model of each same-work set, how it stands against ``baseline`` under every regime."""
    out = []
    for where, verdicts in regime_verdicts.items():
        by_regime = {regime(v.cells[0].result): _default_cells(v) for v in verdicts}
        names = sorted(by_regime, key=_regime_rank)
        first = by_regime[names[0]]
        for model in sorted(first):
            if model == baseline or not heavy(first[model].result):
                continue
            if not all(model in by_regime[n] and baseline in by_regime[n] for n in names):
                continue
            relation = []
            for name in names:
                order = _order(by_regime[name][model], by_regime[name][baseline])
                how = "tied with" if order is None else ("ahead of" if order[0] == model else "behind")
                relation.append((name, how))
            out.append(BaselineOrder(model, where, tuple(relation)))
    return out


def _order(a: Judged, b: Judged) -> tuple[str, str] | None:
    """(faster, slower) model when the two are separated, else None (a tie)."""
    if not separated(a, b):
        return None
    return (
        (a.result.model, b.result.model)
        if a.result.stats.median < b.result.stats.median
        else (
            b.result.model,
            a.result.model,
        )
    )


def regime_groups(verdicts: Iterable[Verdict]) -> dict[str, list[Verdict]]:
    """Verdicts of the same work under two or more regimes, keyed by a readable ``workload[params]``."""
    found: dict[tuple[str, str, str], list[Verdict]] = {}
    for verdict in verdicts:
        found.setdefault(same_work_key(verdict.cells[0].result), []).append(verdict)
    out = {}
    for (workload, params, interpreter), members in found.items():
        if len({regime(v.cells[0].result) for v in members}) > 1:
            members.sort(key=lambda v: _regime_rank(regime(v.cells[0].result)))
            out[f"{workload}[{params}{',python=' + interpreter if interpreter else ''}]"] = members
    return out


def _regime_rank(name: str) -> int:
    return REGIME_ORDER.index(name) if name in REGIME_ORDER else len(REGIME_ORDER)
