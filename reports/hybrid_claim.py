"""The report's answer to the seed's claim that "multiprocess + coroutines is the best practice".

Generated from the ``cpu_mixed`` groups of a run: for each amount of CPU work
per task, how ``multiprocess_asyncio`` compares with the fastest
single-process model (and with asyncio, the coroutines it runs), and from
which CPU share on, if any, the hybrid wins. Stdlib only; numbers are the
saved medians.
"""

from __future__ import annotations

from reports import fmt
from reports.load import Result

HYBRID = "multiprocess_asyncio"
CLEAR_WIN = 1.10
"""A smaller lead is within one run's noise: it does not count as the hybrid winning."""


def hybrid_sentences(groups: dict[str, list[Result]]) -> list[str]:
    rows_by_work = sorted(
        (rows for rows in groups.values() if any(r.model == HYBRID for r in rows)),
        key=lambda rows: float(rows[0].params.get("work", 0)),
    )
    sentences = []
    wins_from = None
    for rows in rows_by_work:
        hybrid = next(r for r in rows if r.model == HYBRID)
        others = sorted((r for r in rows if r.model != HYBRID), key=lambda r: r.stats.median)
        if not others:
            continue
        best = others[0]
        share = hybrid.metric("cpu_share")
        share_text = f" (CPU {share:.0%} of the one-core ideal)" if share is not None else ""
        ratio = best.stats.median / hybrid.stats.median
        verdict = f"{fmt.ratio(ratio)} faster" if ratio >= 1 else f"{fmt.ratio(1 / ratio)} slower"
        sentences.append(
            f"work={hybrid.params.get('work')}{share_text}: {HYBRID} {fmt.seconds(hybrid.stats.median)}, "
            f"{verdict} than the fastest single-process model ({best.label}, {fmt.seconds(best.stats.median)})."
        )
        if ratio >= CLEAR_WIN and wins_from is None:
            wins_from = hybrid.params.get("work")
        elif ratio < CLEAR_WIN:
            wins_from = None
    if not sentences:
        return []
    if wins_from is None:
        claim = (
            f"Multiprocess + coroutines: {HYBRID} did not beat the best single-process model by {CLEAR_WIN:.2f}x "
            "or more at the highest CPU shares here."
        )
    else:
        claim = (
            f"Multiprocess + coroutines: {HYBRID} beats every single-process model by {CLEAR_WIN:.2f}x or more "
            f"from work={wins_from} on, where CPU dominates; below that, one process of coroutines is as fast."
        )
    return [claim, *sentences]
