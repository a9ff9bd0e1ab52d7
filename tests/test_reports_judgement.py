"""The judgement behind the decision matrix, as pure functions on synthetic results: no subprocess, no report.

- ``reports.judge.latency``: a capacity is a bracket ``[lo, hi)``; overlapping brackets are a tie, apart
  ones are ordered highest first, and a lower bound ("≥ X", ``hi = inf``, bounded by the generator or the
  connections) is never ranked below a smaller measured figure; ``bracket_text`` renders each kind.
- ``reports.judge.cost``: ``used_more_cores`` needs both the ratio (1.25) and the margin (0.25 of a core),
  missing data is never "more"; ``per_core_ratio`` is the other side's CPU seconds a round over this one's.
- ``reports.judge.ranking``: ``widened`` widens an interval by ``1 + spread / 2`` each way; a cell's own
  spread between processes, else the run's typical one, is folded into its interval; an ``unranked``
  variant is never ranked; ``tcp_latency`` groups are judged by brackets.
- ``reports.write.decision``: through ``verdicts()`` on a run loaded with ``load_run``, a win bought with
  more cores than the runner-up names both core counts, and an unranked cell reads "not ranked: <reason>";
  the latency column shows brackets with ★/☆ and ▲/≈ against the baseline.
"""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path
from typing import Any

import pytest

from reports.judge import cost, latency
from reports.judge.ranking import (
    RANKED,
    REFERENCE,
    STALLED,
    UNRANKED,
    Judged,
    judge_group,
    process_spread,
    typical_process_spread,
    verdicts,
    widened,
)
from reports.read.run import Result, Stats, load_run
from reports.read.schemas import WorkloadSchema
from reports.write import decision
from reports.write.document import Paragraph, Table

LATENCY_GROUP = "tcp_latency[connections=8]"
CALLBACKS = "a synchronous callback chain, not a scheduler round trip"


def rounds(centre: float, spread: float = 0.01, n: int = 10) -> list[float]:
    """n rounds spread evenly within ±spread (a fraction) around centre."""
    return [centre * (1 + spread * (2 * i / (n - 1) - 1)) for i in range(n)]


def stats_of(data: list[float]) -> Stats:
    ordered = sorted(data)
    quarter = len(ordered) // 4
    return Stats(
        median=statistics.median(data),
        q1=ordered[quarter],
        q3=ordered[-1 - quarter],
        min=ordered[0],
        max=ordered[-1],
        mean=statistics.fmean(data),
        rounds=len(data),
        data=tuple(data),
    )


def result(
    model: str,
    workload: str = "tcp_latency",
    *,
    data: list[float] | None = None,
    group: str = LATENCY_GROUP,
    **extra: Any,
) -> Result:
    """A Result built directly (as ``load_run`` would build it from a cell of the current format)."""
    info = {"model": model, "workload": workload, "default_variant": True, "reference_scheduler": False, **extra}
    return Result(
        group=group,
        name=f"test_{workload}[{model}]",
        fullname=f"b.py::test_{workload}[{model}]",
        model=model,
        variant=None,
        workload=workload,
        params={"connections": 8},
        stats=stats_of(data or rounds(0.001)),
        extra=info,
    )


def capacity(lo: float, hi: float | None, bounded_by: str | None = None, target: str = "10ms") -> dict[str, Any]:
    """The extra_info a capacity search saves for one target, in ``workloads.specs.tcp_latency.capacity``'s shape."""
    record = {
        "msgs_per_s": lo,
        "bracket_msgs_per_s": [lo, hi],
        "confirmed": True,
        "bounded_by": bounded_by,
        "generator_limited": bounded_by == "generator",
        "connection_limited": bounded_by == "connections",
        "at_least": hi is None or bounded_by is not None,
        "closed_loop_ratio": 0.5,
        "exceeds_closed_loop": False,
    }
    return {f"capacity_p99_{target}": record, f"capacity_p99_{target}_msgs_per_s": lo}


def server(model: str, lo: float, hi: float | None, bounded_by: str | None = None, **extra: Any) -> Result:
    return result(model, **capacity(lo, hi, bounded_by), **extra)


def bracket_of(r: Result) -> latency.Proven:
    found = latency.proven(r)
    assert found is not None
    return found


def labels(proven: tuple[latency.Proven, ...]) -> list[str]:
    return [p.result.label for p in proven]


# -- 1. brackets: overlap is a tie, apart is an order ------------------------------------------------------


def test_overlapping_brackets_are_a_tie() -> None:
    low, high = server("asyncio", 40_000, 50_000), server("uvloop", 45_000, 55_000)
    order = latency.proven_order([low, high])
    assert labels(order.ranked) == ["uvloop", "asyncio"]  # highest lo first
    assert labels(order.leaders) == ["uvloop", "asyncio"]
    assert not bracket_of(low).apart_from(bracket_of(high)) and not bracket_of(high).apart_from(bracket_of(low))
    assert not bracket_of(high).above(bracket_of(low))


def test_apart_brackets_are_ranked_highest_first_with_one_leader() -> None:
    slow, fast = server("asyncio", 30_000, 35_000), server("uvloop", 60_000, 70_000)
    order = latency.proven_order([slow, fast])
    assert labels(order.ranked) == ["uvloop", "asyncio"]
    assert labels(order.leaders) == ["uvloop"]
    assert bracket_of(fast).above(bracket_of(slow)) and not bracket_of(slow).above(bracket_of(fast))
    # the brackets are half-open: a miss at 40k and a pass at 40k do not overlap
    touching = latency.proven_order([server("a", 30_000, 40_000), server("b", 40_000, 50_000)])
    assert labels(touching.leaders) == ["b"]


def test_a_group_of_overlapping_brackets_is_tied_and_apart_ones_win() -> None:
    tied = judge_group(LATENCY_GROUP, [server("asyncio", 40_000, 50_000), server("uvloop", 45_000, 55_000)])
    assert tied.proven is not None
    assert [(c.label, c.role, c.place) for c in tied.cells] == [("uvloop", RANKED, "tied"), ("asyncio", RANKED, "tied")]
    assert tied.winner is None

    apart = judge_group(LATENCY_GROUP, [server("asyncio", 30_000, 35_000), server("uvloop", 60_000, 70_000)])
    assert [(c.label, c.place) for c in apart.cells] == [("uvloop", "wins"), ("asyncio", "")]
    assert apart.winner is not None and apart.winner.label == "uvloop"


# -- 2. lower bounds ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bounded_by", ["generator", "connections"])
def test_a_lower_bound_is_ranked_above_a_smaller_measured_bracket(bounded_by: str) -> None:
    measured = server("asyncio", 30_000, 35_000)
    bound = server("uvloop", 50_000, 60_000, bounded_by)  # the miss at 60k was not the server's
    found = bracket_of(bound)
    assert (found.lo, found.hi, found.bounded_by, found.lower_bound) == (50_000, math.inf, bounded_by, True)
    order = latency.proven_order([measured, bound])
    assert labels(order.ranked) == ["uvloop", "asyncio"]
    assert labels(order.leaders) == ["uvloop"]
    verdict = judge_group(LATENCY_GROUP, [measured, bound])
    assert verdict.winner is not None and verdict.winner.label == "uvloop"


def test_a_lower_bound_overlapping_a_higher_bracket_is_a_tie_not_a_loss() -> None:
    bound = server("uvloop", 30_000, None, "connections")  # [30k, ∞)
    measured = server("asyncio", 32_000, 40_000)
    order = latency.proven_order([bound, measured])
    assert labels(order.ranked) == ["asyncio", "uvloop"]  # by what was proven: 32k before 30k
    assert sorted(labels(order.leaders)) == ["asyncio", "uvloop"]  # but the lower bound may lie above 40k
    verdict = judge_group(LATENCY_GROUP, [bound, measured])
    assert {c.label: c.place for c in verdict.cells} == {"asyncio": "tied", "uvloop": "tied"}
    # and a bracket wholly below the lower bound's proven rate loses to it
    below = latency.proven_order([server("asyncio", 20_000, 30_000), bound])
    assert labels(below.leaders) == ["uvloop"]


def test_what_older_records_prove() -> None:
    def old(**record: Any) -> latency.Proven:
        return bracket_of(result("m", capacity_p99_10ms=record, capacity_p99_10ms_msgs_per_s=50_000))

    generator = old(generator_limited=True, at_least=True)
    assert (generator.lo, generator.hi, generator.bounded_by) == (50_000, math.inf, "generator")
    point = old(at_least=False)
    assert (point.lo, point.hi, point.bounded_by, point.lower_bound) == (50_000, 50_000, None, False)
    assert old(at_least=True).bounded_by == "ceiling"  # a lower bound with no reason: no miss was found
    assert latency.proven(result("m", capacity_p99_10ms_msgs_per_s=50_000)) is None  # no record, nothing known


def test_two_equal_capacities_of_older_runs_are_a_tie() -> None:
    def old(model: str) -> Result:
        return result(model, capacity_p99_10ms={"at_least": False}, capacity_p99_10ms_msgs_per_s=50_000)

    order = latency.proven_order([old("asyncio"), old("uvloop")])
    assert sorted(labels(order.leaders)) == ["asyncio", "uvloop"]


def test_nothing_proven_is_not_ranked_and_a_miss_below_the_floor_is() -> None:
    nothing = server("tornado", 0.0, None)  # no rate met the target and none missed it
    missed = server("trio", 0.0, 500)  # the lowest rate tried already missed
    order = latency.proven_order([nothing, missed, server("asyncio", 30_000, 35_000)])
    assert labels(order.ranked) == ["asyncio", "trio"]
    assert labels(order.unproven) == ["tornado"]
    verdict = judge_group(LATENCY_GROUP, [nothing, missed, server("asyncio", 30_000, 35_000)])
    assert {c.label: c.role for c in verdict.cells} == {"asyncio": RANKED, "trio": RANKED, "tornado": STALLED}


# -- 3. bracket_text ------------------------------------------------------------------------------------------


def test_bracket_text_renders_lower_bounds_ranges_and_misses() -> None:
    assert latency.bracket_text(bracket_of(server("a", 98_000, None, "generator"))) == "≥ 98k"
    assert latency.bracket_text(bracket_of(server("a", 98_400, 120_000, "connections"))) == "≥ 98.4k"
    assert latency.bracket_text(bracket_of(server("a", 57_200, 69_000))) == "57.2k-69k"
    assert latency.bracket_text(bracket_of(server("a", 940, 1_180_000))) == "940-1.18M"
    assert latency.bracket_text(bracket_of(server("a", 0.0, 500))) == "< 500"


# -- 4. cores -------------------------------------------------------------------------------------------------


def cores(used: float | None = None, cpu: float | None = None) -> Result:
    extra: dict[str, Any] = {}
    if used is not None:
        extra["cores_used"] = used
    if cpu is not None:
        extra["cpu_s_per_round"] = cpu
    return result("m", "ping_pong", group="ping_pong[switches=10000]", **extra)


@pytest.mark.parametrize(
    ("mine", "theirs", "more"),
    [
        (1.9, 1.0, True),
        (1.1, 1.0, False),  # within the ratio
        (1.0, 1.9, False),  # fewer is not more
        (1.25, 1.0, False),  # the ratio must be exceeded
        (1.26, 1.0, True),
        (0.3, 0.2, False),  # 1.5 times as many, but a tenth of a core: accounting noise
        (None, 1.0, False),
        (1.9, None, False),
    ],
)
def test_used_more_cores(mine: float | None, theirs: float | None, more: bool) -> None:
    assert cost.used_more_cores(cores(mine), cores(theirs)) is more


def test_a_non_numeric_cores_used_is_missing_data() -> None:
    flagged = result("m", "ping_pong", cores_used=True)
    assert cost.cores_used(flagged) is None
    assert cost.used_more_cores(flagged, cores(0.1)) is False


def test_per_core_ratio_is_the_other_sides_cpu_seconds_a_round_over_this_ones() -> None:
    assert cost.per_core_ratio(cores(cpu=0.03), cores(cpu=0.02)) == pytest.approx(2 / 3)
    assert cost.per_core_ratio(cores(cpu=0.01), cores(cpu=0.02)) == pytest.approx(2.0)
    assert cost.per_core_ratio(cores(cpu=0.01), cores()) is None
    assert cost.per_core_ratio(cores(cpu=0.0), cores(cpu=0.02)) is None


def test_cores_text_names_both_sides() -> None:
    assert cost.cores_text(cores(1.94), cores(1.0)) == "1.9 vs 1.0 cores"
    assert cost.cores_text(cores(), cores(1.0)) == "0.0 vs 1.0 cores"


# -- 5. the decision matrix from a loaded run -----------------------------------------------------------------

PING_PONG_SCHEMA = {
    "name": "ping_pong",
    "order": 60,
    "question": "What does handing control to another task and back cost?",
    "scenario": "ping-pong handoff",
    "metrics": [
        {
            "key": "time_per_switch_s",
            "label": "time per switch",
            "unit": "s",
            "higher_is_better": False,
            "headline": True,
            "table": True,
        }
    ],
    "charts": [],
    "flags": [],
}


def bench(model: str, per_switch: float, **extra: Any) -> dict[str, Any]:
    switches = 10_000
    data = rounds(per_switch * switches)
    stats = stats_of(data)
    return {
        "group": f"ping_pong[switches={switches}]",
        "name": f"test_ping_pong[{model}]",
        "fullname": f"b.py::test_ping_pong[{model}]",
        "stats": {
            "min": stats.min,
            "max": stats.max,
            "mean": stats.mean,
            "median": stats.median,
            "q1": stats.q1,
            "q3": stats.q3,
            "rounds": stats.rounds,
            "data": data,
        },
        "extra_info": {
            "model": model,
            "workload": "ping_pong",
            "params": {"switches": switches},
            "default_variant": True,
            "reference_scheduler": False,
            "time_per_switch_s": stats.median / switches,
            **extra,
        },
    }


def ping_pong_run(tmp_path: Path) -> Path:
    """gevent twice as fast as asyncio on 1.9 cores (1.5 times asyncio's CPU a round); twisted fastest but unranked."""
    benchmarks = [
        bench("asyncio", 2e-6, cores_used=1.0, cpu_s_per_round=0.02),
        bench("gevent", 1e-6, cores_used=1.9, cpu_s_per_round=0.03),
        bench("newlib", 4e-6, cores_used=1.0, cpu_s_per_round=0.04),
        bench("twisted", 0.5e-6, cores_used=1.0, cpu_s_per_round=0.005, unranked=CALLBACKS),
    ]
    doc = {
        "machine_info": {"node": "box", "python_version": "3.11.7", "cpu": {"brand_raw": "Test CPU", "count": 2}},
        "commit_info": {"id": "abc"},
        "datetime": "2026-12-01T00:00:00",
        "version": "5.1.0",
        "benchmarks": benchmarks,
        "corobench": {
            "format_version": 1,
            "partial": False,
            "failed_cells": [],
            "skipped_cells": [],
            "workloads": {"ping_pong": PING_PONG_SCHEMA},
        },
    }
    path = tmp_path / "ping.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_a_win_bought_with_more_cores_names_both_core_counts(tmp_path: Path) -> None:
    run = load_run(ping_pong_run(tmp_path))
    ((schema, verdict),) = decision.columns(run, verdicts(run))
    assert [c.label for c in verdict.ranked] == ["gevent", "asyncio", "newlib"]
    assert verdict.winner is not None and verdict.winner.label == "gevent"
    gevent, newlib = verdict.ranked[0], verdict.ranked[2]
    text, kind = decision.cell_text(gevent, verdict, schema)
    assert kind == decision.BETTER
    assert text.startswith("▲ 2.00x better [")
    assert text.endswith(" ★ · 1.9 vs 1.0 cores, per core 1.50x behind asyncio"), text
    assert decision.cost_note(newlib, verdict, decision.WORSE) == ""  # no win, no note
    assert "using more cores (1.9 vs 1.0 cores)" in decision.scenario_verdict(schema, verdict)


def test_an_unranked_variant_is_listed_with_its_reason_and_never_ranked(tmp_path: Path) -> None:
    run = load_run(ping_pong_run(tmp_path))
    judged = verdicts(run)
    ((schema, verdict),) = decision.columns(run, judged)
    twisted = next(c for c in verdict.cells if c.label == "twisted")
    assert twisted.role == UNRANKED and twisted.place == ""  # the fastest median, but not the same work
    assert "twisted" not in [c.label for c in (*verdict.ranked, *verdict.leaders)]
    assert decision.cell_text(twisted, verdict, schema) == (f"not ranked: {CALLBACKS}", decision.NONE)
    table = next(b for b in decision.matrix_blocks(run, judged) if isinstance(b, Table))
    assert ("twisted", f"not ranked: {CALLBACKS}") in table.rows


def test_a_non_default_unranked_variant_is_left_out_of_the_matrix_and_named(tmp_path: Path) -> None:
    run = load_run(ping_pong_run(tmp_path))
    doc = json.loads(run.path.read_text(encoding="utf-8"))
    doc["benchmarks"][3]["extra_info"].update(variant="callbacks", default_variant=False)
    run.path.write_text(json.dumps(doc), encoding="utf-8")
    run = load_run(run.path)
    blocks = decision.matrix_blocks(run, verdicts(run))
    table = next(b for b in blocks if isinstance(b, Table))
    assert [row[0] for row in table.rows] == ["asyncio", "gevent", "newlib"]
    assert any(isinstance(b, Paragraph) and "twisted (callbacks)" in b.text for b in blocks)


def test_the_group_chart_labels_an_unranked_bar_with_not_ranked() -> None:
    from reports.draw.charts import bar_text

    cell = Judged(result("twisted", "ping_pong", unranked=CALLBACKS), (0.9, 1.1), (), UNRANKED)
    assert "not ranked" in bar_text(cell, None)


def latency_schema() -> WorkloadSchema:
    return WorkloadSchema("tcp_latency", 70, "", "latency under load", ())


def test_the_latency_column_shows_brackets_marks_and_the_baseline() -> None:
    asyncio = server("asyncio", 30_000, 35_000)
    uvloop = server("uvloop", 50_000, 60_000, "generator", bottleneck="peer")  # the generator fell behind
    trio = server("trio", 32_000, 40_000)
    tornado = server("tornado", 0.0, None)
    verdict = judge_group(LATENCY_GROUP, [asyncio, uvloop, trio, tornado])
    assert verdict.baseline is not None and verdict.baseline.label == "asyncio"
    text = {c.label: decision.cell_text(c, verdict, latency_schema()) for c in verdict.cells}
    assert text == {
        "uvloop": ("▲ ≥ 50k msgs/s ★", decision.BETTER),  # peer-bound by the generator, yet ranked: a lower bound
        "trio": ("≈ 32k-40k msgs/s", decision.TIE),
        "asyncio": ("baseline 30k-35k msgs/s", decision.BASE),
        "tornado": ("nothing proven, not ranked", decision.NONE),
    }
    assert verdict.proven is not None
    assert decision.latency_verdict(verdict.proven) == (
        "**uvloop** carries the most under p99 ≤ 10 ms (≥ 50k msgs/s), its bracket apart from trio's (32k-40k); "
        "lower bounds, ranked at their proven rate and never below a smaller figure: uvloop (the load generator "
        "fell behind its schedule; a generator on cores (or a host) of its own would close it); nothing proven "
        "(no rate met the target and none missed it): tornado."
    )


def test_a_latency_cell_that_is_not_ranked_still_shows_what_it_proved() -> None:
    asyncio = server("asyncio", 30_000, 35_000)
    greenlet = server("greenlet", 40_000, 45_000, reference_scheduler=True)
    twisted = server("twisted", 20_000, 25_000, unranked=CALLBACKS)
    verdict = judge_group(LATENCY_GROUP, [asyncio, greenlet, twisted])
    roles = {c.label: c.role for c in verdict.cells}
    assert roles == {"asyncio": RANKED, "greenlet": REFERENCE, "twisted": UNRANKED}  # this much holds today
    text = {c.label: decision.cell_text(c, verdict, latency_schema())[0] for c in verdict.cells}
    assert "40k-45k" in text["greenlet"]
    assert CALLBACKS in text["twisted"]


# -- 6. noise between processes -------------------------------------------------------------------------------


def test_widened_multiplies_out_by_half_the_spread_and_leaves_zero_alone() -> None:
    low, high = widened((1.0, 2.0), 0.2)
    assert (low, high) == (pytest.approx(1.0 / 1.1), pytest.approx(2.2))
    assert widened((1.0, 2.0), 0.0) == (1.0, 2.0)
    assert widened((0.5, 0.5), 1.0) == (pytest.approx(1 / 3), pytest.approx(0.75))  # stays positive


def test_a_cells_interval_takes_its_own_spread_else_the_runs_typical_one() -> None:
    group = "ping_pong[switches=10000]"

    def cell(model: str, **extra: Any) -> Result:
        return result(model, "ping_pong", group=group, data=rounds(0.02, 0.03), **extra)

    plain, sampled = cell("asyncio"), cell("gevent", between_processes={"spread": 0.4})
    assert (process_spread(plain), process_spread(sampled)) == (None, 0.4)
    assert process_spread(cell("x", between_processes={"spread": math.nan})) is None
    assert typical_process_spread([plain, sampled, cell("y", between_processes={"spread": 0.1})]) == pytest.approx(0.25)
    assert typical_process_spread([plain]) == 0.0

    def ci(judged: tuple[Judged, ...], label: str) -> tuple[float, float]:
        return next(c.ci for c in judged if c.label == label)

    bare = judge_group(group, [plain, cell("gevent")]).cells  # no spread known anywhere: the bootstrap interval
    folded = judge_group(group, [plain, sampled], typical_spread=0.2).cells
    assert ci(folded, "asyncio") == pytest.approx(widened(ci(bare, "asyncio"), 0.2))  # the run's typical spread
    assert ci(folded, "gevent") == pytest.approx(widened(ci(bare, "gevent"), 0.4))  # its own, not the typical
    assert next(c.process_spread for c in folded if c.label == "asyncio") == 0.2
    assert ci(bare, "asyncio")[0] < 0.02 < ci(bare, "asyncio")[1]
