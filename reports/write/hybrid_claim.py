"""The report's answer to the seed's claim that "multiprocess + coroutines is the best practice".

``seed_claim`` is the decision page's paragraph: per closed-loop workload (at its heaviest parameters),
each multi-core model (the hybrid, loops in threads, loops in subinterpreters) against single-loop asyncio
running the same server code, the cores each was given and kept busy, its loops, the CPU seconds each
spent a round, and what the machine's cores allowed. ``hybrid_sentences`` (the advice section) is
generated from the groups of a run in which ``multiprocess_asyncio`` ran (in practice ``cpu_mixed``): for
each amount of CPU work per task, how the hybrid compares with the fastest single-process production
model that measured itself, and from which work level on, if any, the hybrid wins, which needs both a
lead of ``CLEAR_WIN`` and bootstrap intervals that do not overlap. Stdlib only; numbers are the saved
medians and the intervals of ``reports.judge.ranking``.
"""

from __future__ import annotations

from collections.abc import Sequence

from reports.judge import cost
from reports.judge.latency import is_open_loop
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


MULTI_CORE = (HYBRID, "asyncio_threads", "interpreters_asyncio")
"""The models that spread asyncio over cores: loops in processes, in threads, in subinterpreters."""
LIKE_FOR_LIKE = {"tcp_echo": "protocol", "http_server": "httptools"}
"""asyncio's variant that runs the multi-core models' own server code on one loop (their echo is an
``asyncio.Protocol``, their HTTP the same-parser Protocol): against asyncio's default (streams, uvicorn) a
multi-core server's lead would mix the cores with a cheaper server."""


def seed_claim(heaviest: list[Verdict], machine_cores: int | None, others: Sequence[Verdict] = ()) -> str | None:
    """The multi-core models against single-loop asyncio per workload, with the cores and loops each had.

    Per workload (at its heaviest parameters) each multi-core model's default cell is set against asyncio's
    cell with the same server code (``LIKE_FOR_LIKE``; elsewhere asyncio's default variant). Where the heaviest
    group lacks such a pair (asyncio's httptools HTTP runs at one point of the default profile), the last group
    of ``others`` (every group, in report order) of that workload that has one is used, and named. Each
    comparison says the cores the side under test was given and used, its loops, and why it ran one loop where
    it did; None without any comparison.
    """
    parts = []
    faster_with_cores = 0
    any_cores = False
    one_core_workloads: list[str] = []
    for verdict in heaviest:
        workload = verdict.cells[0].result.workload if verdict.cells else ""
        if is_open_loop(workload):
            continue  # ranked by capacity brackets, not medians: the matrix's latency columns show them
        found = _comparisons(verdict)
        if found is None:
            fallback = [v for v in others if v.cells and v.cells[0].result.workload == workload]
            found = next((f for f in map(_comparisons, reversed(fallback)) if f is not None), None)
        if found is None:
            continue
        where, single, cells = found
        texts = []
        for cell in cells:
            text, won_with_cores, known = _comparison(cell, single)
            texts.append(f"{cell.result.model} {text}")
            faster_with_cores += won_with_cores
            any_cores = any_cores or known
            if cost.one_loop_note(cell.result) and workload not in one_core_workloads:
                one_core_workloads.append(workload)
        name = workload if where is verdict else where.group  # the group's parameters, when not the heaviest
        parts.append(f"{name} (against {single.label}): " + ", ".join(texts))
    if not parts:
        return None
    cores = f"{machine_cores} cores" if machine_cores else "this machine's cores"
    text = (
        f"Processes plus coroutines, tested: the multi-core models against single-loop asyncio running the same "
        f"server code, at each workload's heaviest parameters, on {cores} shared with the load generator where "
        "there is one. " + "; ".join(parts) + "."
    )
    if any_cores:
        text += (
            f" {faster_with_cores} of their wins came with more cores busy than asyncio's one; a machine with more "
            "cores gives them more room, and a loaded one less."
        )
    else:
        text += " This run did not record the cores each side used."
    if one_core_workloads:
        text += (
            f" What this machine's cores allowed: in {', '.join(one_core_workloads)} the side under test had one core "
            "(its peer on this machine had the other), so those cells measure one loop against one loop; "
            "the load generators on another host (--peer-host) give a server every core."
        )
    return text


def _comparisons(verdict: Verdict) -> tuple[Verdict, Judged, list[Judged]] | None:
    """(the group, asyncio's like-for-like cell, the ranked multi-core cells) where the group has both."""
    single = _asyncio_cell(verdict)
    if single is None or single.role != RANKED:
        return None
    cells = [c for m in MULTI_CORE if (c := _default_cell(verdict, m)) is not None and c.role == RANKED]
    return (verdict, single, cells) if cells else None


def _comparison(cell: Judged, single: Judged) -> tuple[str, bool, bool]:
    """``1.9x faster (2 cores given, 2 loops; 1.9 vs 1.0 cores; …)``, whether it won with more cores, and
    whether both sides' cores are known."""
    ratio = single.result.stats.median / cell.result.stats.median
    won_with_cores = False
    if not separated(cell, single):
        how = "tied"
    elif ratio >= 1:
        how = f"{fmt.ratio(ratio)} faster"
        won_with_cores = cost.used_more_cores(cell.result, single.result)
    else:
        how = f"{fmt.ratio(1 / ratio)} slower"
    extra = cell.result.extra
    notes = []
    given = extra.get("server_cores_given", extra.get("cores_given"))
    loops = extra.get("server_loops", extra.get("processes"))
    if given is not None or loops is not None:
        shape = [f"{given} {'core' if given == 1 else 'cores'} given"] if given is not None else []
        if loops is not None:
            shape.append(f"{loops} {'loop' if loops == 1 else 'loops'}")
        notes.append(", ".join(shape))
    known = cost.cores_used(cell.result) is not None and cost.cores_used(single.result) is not None
    if known:
        notes.append(cost.cores_text(cell.result, single.result))
    per_core = cost.per_core_ratio(cell.result, single.result)
    if per_core is not None:
        notes.append(
            f"per CPU second {fmt.ratio(per_core)} ahead"
            if per_core >= 1
            else f"per CPU second {fmt.ratio(1 / per_core)} behind"
        )
    return how + (f" ({'; '.join(notes)})" if notes else ""), won_with_cores, known


def _asyncio_cell(verdict: Verdict) -> Judged | None:
    """asyncio's cell with the multi-core models' server code where the workload has one, else its default."""
    variant = LIKE_FOR_LIKE.get(verdict.cells[0].result.workload) if verdict.cells else None
    if variant is None:
        return _default_cell(verdict, BASELINE_MODEL)
    return next((c for c in verdict.cells if c.result.model == BASELINE_MODEL and c.result.variant == variant), None)


def _default_cell(verdict: Verdict, model: str) -> Judged | None:
    return next((c for c in verdict.cells if c.result.model == model and c.result.default_variant), None)
