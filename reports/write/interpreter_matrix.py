"""The report's interpreter section: every model across the ``--python`` interpreters of a run.

Only a run with two or more interpreters (``extra_info["interpreter"]``, set under ``--python``) gets
it; any other run renders nothing here. It shows:

- a model x interpreter matrix of medians for the heaviest ``sleep_fanout`` cell (largest N) and
  the heaviest ``cpu_mixed`` cell (largest work), each with its ratio to the same model on the
  first interpreter named (the cells of one model ran back to back, so machine drift mostly
  cancels in these ratios);
- the seed's claim ("multiprocess + coroutines is the best practice under the GIL") answered per
  interpreter and build from the numbers: which of processes (``multiprocess_asyncio``),
  subinterpreters (``interpreters_asyncio``) and threads (``asyncio_threads``) wins ``cpu_mixed``
  at its largest work, against one asyncio loop, with peak memory and pool start-up;
- the ceiling the machine's cores set on any speed-up.

Reads saved results only (``reports.read.run.Result``); stdlib only.
"""

from __future__ import annotations

from collections.abc import Sequence

from reports.read.run import Result
from reports.write import fmt
from reports.write.document import Block, Bullets, Heading, Paragraph, Table

MULTI_CORE = {
    "multiprocess_asyncio": "processes",
    "interpreters_asyncio": "subinterpreters",
    "asyncio_threads": "threads",
}
"""The three answers to the multi-core question, and what each runs its loops in."""
SINGLE_LOOP = "asyncio"
HEAVIEST = (("sleep_fanout", "n"), ("cpu_mixed", "work"))
"""Per workload, the parameter whose largest value marks its heaviest cell."""
TWO_CORE_CEILING = "1.6–1.8x"  # noqa: RUF001 (an en dash for a range)
CLEAR_WIN = 1.10
"""A smaller lead over one asyncio loop is within one run's noise: no model counts as winning."""


def interpreter_blocks(results: Sequence[Result]) -> list[Block]:
    """The section's blocks; empty unless the results span two or more interpreters."""
    specs = interpreters_of(results)
    if len(specs) < 2:
        return []
    blocks: list[Block] = [
        Heading(1, "Interpreters"),
        Paragraph(
            "The same cells on each interpreter named with --python ("
            + ", ".join(_describe(results, spec) for spec in specs)
            + "). Medians; in brackets the ratio to the same model on "
            f"{specs[0]} (below 1: faster there)."
        ),
    ]
    for workload, parameter in HEAVIEST:
        table = matrix(results, specs, workload, parameter)
        if table is not None:
            heading, rows = table
            blocks += [Heading(2, heading), rows]
    claim = claim_sentences(results, specs)
    if claim:
        blocks += [Heading(2, "Processes, subinterpreters or threads?"), Bullets(tuple(claim))]
    return blocks


def interpreters_of(results: Sequence[Result]) -> list[str]:
    """The interpreter specs of a run, in the order the run named them."""
    seen: dict[str, None] = {}
    for r in results:
        spec = r.extra.get("interpreter")
        if isinstance(spec, str):
            seen.setdefault(spec, None)
    return list(seen)


def at_largest(results: Sequence[Result], workload: str, parameter: str) -> list[Result]:
    """The results of ``workload``'s cells at the largest value of ``parameter``."""
    rows = [r for r in results if r.workload == workload and isinstance(r.params.get(parameter), int | float)]
    if not rows:
        return []
    largest = max(float(r.params[parameter]) for r in rows)
    return [r for r in rows if float(r.params[parameter]) == largest]


def matrix(results: Sequence[Result], specs: list[str], workload: str, parameter: str) -> tuple[str, Table] | None:
    rows = at_largest(results, workload, parameter)
    if not rows:
        return None
    by_cell = {(r.label, r.extra.get("interpreter")): r for r in rows}
    labels = list(dict.fromkeys(r.label for r in rows))
    table_rows = []
    for label in labels:
        first = by_cell.get((label, specs[0]))
        cells = [label]
        for spec in specs:
            result = by_cell.get((label, spec))
            if result is None:
                cells.append("skipped")
                continue
            text = fmt.seconds(result.stats.median)
            if first is not None and spec != specs[0] and first.stats.median > 0:
                text += f" ({result.stats.median / first.stats.median:.2f})"
            cells.append(text)
        table_rows.append(tuple(cells))
    largest = rows[0].params[parameter]
    heading = f"{workload} at {parameter}={largest}"
    return heading, Table(("model", *specs), tuple(table_rows), frozenset(range(1, len(specs) + 1)))


def claim_sentences(results: Sequence[Result], specs: list[str]) -> list[str]:
    """Per interpreter: which multi-core model wins cpu_mixed at its largest work, and at what cost."""
    rows = at_largest(results, "cpu_mixed", "work")
    sentences = []
    cores = None
    for spec in specs:
        here = [r for r in rows if r.extra.get("interpreter") == spec and r.extra.get("default_variant", True)]
        cores = cores or next((r.extra.get("cores") for r in here if r.extra.get("cores")), None)
        contenders = sorted((r for r in here if r.model in MULTI_CORE), key=lambda r: r.stats.median)
        if not contenders:
            continue
        single = next((r for r in here if r.model == SINGLE_LOOP), None)
        winner = contenders[0]
        lead = single.stats.median / winner.stats.median if single else None
        work = winner.params.get("work")
        if lead is not None and lead < CLEAR_WIN:
            verdict = (
                f"no multi-core model beats one asyncio loop by {CLEAR_WIN:.2f}x at work={work} "
                f"(fastest: {winner.model}, {fmt.seconds(winner.stats.median)}, {lead:.2f}x)"
            )
        else:
            verdict = (
                f"{MULTI_CORE[winner.model]} ({winner.model}) win at work={work}, {fmt.seconds(winner.stats.median)}"
                + (f", {lead:.2f}x one asyncio loop" if lead is not None else "")
            )
            runner_up = contenders[1] if len(contenders) > 1 else None
            if runner_up is not None and runner_up.stats.median / winner.stats.median < CLEAR_WIN:
                gap = runner_up.stats.median / winner.stats.median
                verdict += f", level within noise with {MULTI_CORE[runner_up.model]} ({gap:.2f}x)"
        parts = [f"{_describe(results, spec)}: {verdict}"]
        for r in contenders:
            parts.append(
                f"{r.model} {fmt.seconds(r.stats.median)}, peak memory {_bytes(r.metric('peak_rss_bytes'))}, "
                f"start-up {_start_up(r)}"
            )
        missing = sorted(set(MULTI_CORE) - {r.model for r in contenders})
        if missing:
            parts.append("not measured here: " + ", ".join(missing))
        sentences.append("; ".join(parts) + ".")
    if sentences:
        sentences.append(ceiling_sentence(cores))
    return sentences


def ceiling_sentence(cores: object) -> str:
    if cores == 2:
        return (
            "With 2 cores, two busy processes each run at about 0.8 to 0.9 of a lone one on this machine, so any of "
            f"these speed-ups tops out near {TWO_CORE_CEILING}, not 2x."
        )
    if isinstance(cores, int):
        return f"With {cores} cores no speed-up over one loop can exceed {cores}x, and shared caches keep it below."
    return "The run did not record its core count: read the speed-ups against the cores the machine had."


def _describe(results: Sequence[Result], spec: str) -> str:
    """``3.13 (CPython 3.13.0, GIL)`` from what the workers reported."""
    reported = next(
        (r.extra for r in results if r.extra.get("interpreter") == spec and "python_version" in r.extra), None
    )
    if reported is None:
        return spec
    build = "free-threaded" if reported.get("python_build") == "free-threaded" else "default build"
    gil = "GIL on" if reported.get("gil_enabled", True) else "GIL off"
    implementation = {"cpython": "CPython"}.get(str(reported.get("python_implementation")), "")
    return f"{spec} ({implementation} {reported['python_version']}, {build}, {gil})".replace("( ", "(")


def _bytes(value: float | None) -> str:
    return "?" if value is None else fmt.size(value)


def _start_up(r: Result) -> str:
    value = r.metric("pool_startup_s")
    return "none" if value is None else fmt.seconds(value)
