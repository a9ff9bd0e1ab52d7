"""The report's answer to the seed's claim that "multiprocess + coroutines is the best practice".

``seed_claim`` is the decision page's paragraph: per workload (at its heaviest parameters), the hybrid
against single-loop asyncio's default variant, the cores each kept busy, the CPU seconds each spent a
round, and what the machine's cores allowed. ``hybrid_sentences`` (the advice section) is
generated from the groups of a run in which ``multiprocess_asyncio`` ran (in practice ``cpu_mixed``): for
each amount of CPU work per task, how the hybrid compares with the fastest single-process production
model that measured itself, and from which work level on, if any, the hybrid wins, which needs both a
lead of ``CLEAR_WIN`` and bootstrap intervals that do not overlap. Stdlib only; numbers are the saved
medians and the intervals of ``reports.judge.ranking``.
"""

from __future__ import annotations

from reports.judge import cost
from reports.judge.ranking import BASELINE_MODEL, RANKED, Judged, Verdict, separated
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


def seed_claim(heaviest: list[Verdict], machine_cores: int | None) -> str | None:
    """The hybrid against single-loop asyncio per workload, with the cores both used; None without both."""
    parts = []
    faster_with_cores = 0
    any_cores = False
    for verdict in heaviest:
        hybrid = _default_cell(verdict, HYBRID)
        single = _default_cell(verdict, BASELINE_MODEL)
        if hybrid is None or single is None or hybrid.role != RANKED or single.role != RANKED:
            continue
        ratio = single.result.stats.median / hybrid.result.stats.median
        if not separated(hybrid, single):
            how = "tied"
        elif ratio >= 1:
            how = f"{fmt.ratio(ratio)} faster"
            faster_with_cores += cost.used_more_cores(hybrid.result, single.result)
        else:
            how = f"{fmt.ratio(1 / ratio)} slower"
        known = cost.cores_used(hybrid.result) is not None and cost.cores_used(single.result) is not None
        notes = [cost.cores_text(hybrid.result, single.result)] if known else []
        per_core = cost.per_core_ratio(hybrid.result, single.result)
        if per_core is not None:
            notes.append(
                f"per CPU second {fmt.ratio(per_core)} ahead"
                if per_core >= 1
                else f"per CPU second {fmt.ratio(1 / per_core)} behind"
            )
        if one_loop := cost.one_loop_note(hybrid.result):
            notes.append(one_loop)
        any_cores = any_cores or known
        text = f"{hybrid.result.workload}: {how}" + (f" ({'; '.join(notes)})" if notes else "")
        parts.append(text)
    if not parts:
        return None
    cores = f"{machine_cores} cores" if machine_cores else "this machine's cores"
    return (
        f"Processes plus coroutines, tested: {HYBRID} against single-loop asyncio at each workload's heaviest "
        f"parameters, on {cores} shared with the load generator where there is one: "
        + "; ".join(parts)
        + (
            f". {faster_with_cores} of its wins came with more cores busy than asyncio's one; a machine with more "
            "cores gives the hybrid more room, and a loaded one less."
            if any_cores
            else ". This run did not record the cores each side used."
        )
    )


def _default_cell(verdict: Verdict, model: str) -> Judged | None:
    return next((c for c in verdict.cells if c.result.model == model and c.result.default_variant), None)
