"""The report's answer to the seed's claim that "multiprocess + coroutines is the best practice".

Generated from the groups of a run in which ``multiprocess_asyncio`` ran (in practice ``cpu_mixed``): for
each amount of CPU work per task, how the hybrid compares with the fastest single-process production
model that measured itself, and from which work level on, if any, the hybrid wins, which needs both a
lead of ``CLEAR_WIN`` and bootstrap intervals that do not overlap. Stdlib only; numbers are the saved
medians and the intervals of ``reports.judge.ranking``.
"""

from __future__ import annotations

from reports.judge.ranking import RANKED, Verdict, separated
from reports.write import fmt

HYBRID = "multiprocess_asyncio"
CLEAR_WIN = 1.10
"""A smaller lead is within one run's noise: it does not count as the hybrid winning."""


def hybrid_sentences(groups: list[Verdict]) -> list[str]:
    with_hybrid = [v for v in groups if any(c.result.model == HYBRID and c.role == RANKED for c in v.cells)]
    if not with_hybrid or "work" not in with_hybrid[0].params:
        return []
    rows = sorted(with_hybrid, key=lambda v: float(str(v.params.get("work", 0))))
    sentences = []
    wins_from = None
    for verdict in rows:
        hybrid = next(c for c in verdict.cells if c.result.model == HYBRID)
        others = [c for c in verdict.ranked if c.result.model != HYBRID and c.role == RANKED]
        if not others:
            continue
        best = others[0]
        share = hybrid.result.metric("cpu_share")
        share_text = f" (CPU {share:.0%} of the one-core ideal)" if share is not None else ""
        ratio = best.result.stats.median / hybrid.result.stats.median
        verdict_text = f"{fmt.ratio(ratio)} faster" if ratio >= 1 else f"{fmt.ratio(1 / ratio)} slower"
        if not separated(hybrid, best):
            verdict_text = f"not separated ({verdict_text} by the medians)"
        sentences.append(
            f"work={verdict.params.get('work')}{share_text}: {HYBRID} {fmt.seconds(hybrid.result.stats.median)}, "
            f"{verdict_text} against the fastest single-process model ({best.label}, "
            f"{fmt.seconds(best.result.stats.median)})."
        )
        clear = ratio >= CLEAR_WIN and separated(hybrid, best)
        if clear and wins_from is None:
            wins_from = verdict.params.get("work")
        elif not clear:
            wins_from = None
    if not sentences:
        return []
    if wins_from is None:
        claim = (
            f"Multiprocess + coroutines: {HYBRID} did not beat the best single-process model by {CLEAR_WIN:.2f}x "
            "with separated intervals at the highest CPU shares here."
        )
    else:
        claim = (
            f"Multiprocess + coroutines: {HYBRID} beats every single-process model by {CLEAR_WIN:.2f}x or more "
            f"(intervals apart) from work={wins_from} on, where CPU dominates; below that, one process of "
            "coroutines is as fast."
        )
    return [claim, *sentences]
