"""Run one cell through pytest-benchmark with the worker's own timings.

``benchmark.pedantic`` calls ``one_round`` for every warm-up and measured round; each call asks
the worker (or, for echo, the load generator) for one checked round and advances the virtual clock
by exactly the in-window duration, so the statistics pytest-benchmark records are the worker's
measurements. The workload's definition then turns the measured rounds into its saved metrics; the
cell's own facts are written through ``reports.read.format.cell_info``, which declares every key.
Every result also records the interpreter the worker reported (``python_version``,
``python_implementation``, ``python_build``, ``gil_enabled``) and, under ``--python``, the spec
it was chosen by (``interpreter``).
"""

from __future__ import annotations

import platform
import statistics
from collections.abc import Callable
from typing import Any

from benchmarks.harness import peer_host
from benchmarks.harness.between_processes import measure_between_processes
from benchmarks.harness.cells import Cell
from benchmarks.harness.virtual_clock import VirtualClock
from benchmarks.harness.worker_client import WorkerClient
from reports.read.format import cell_info
from workloads.interface import BY_NAME
from workloads.models.registry import lookup
from workloads.specs.base import Round

__all__ = ["Round", "measure", "measure_worker_cell"]

ONE_OFF_KEYS = ("pool_startup_s", "processes", "allocator_state", "server_loops", "parallel_loops", "listener")
"""Set-up facts a round reports (the hybrid's pool start-up, not timed, and size; glibc's allocator
state, ``workloads.runtime.allocator``; a multi-loop server's loops and listener) saved once per cell."""


def measure_worker_cell(benchmark: Any, clock: VirtualClock, worker: WorkerClient, cell: Cell) -> list[Round]:
    """A cell whose rounds run inside the model's worker: measure it and save its derived metrics."""

    def one_round() -> Round:
        reply = worker.run_round(cell.workload, cell.params, cell.timeout_s, cell.variant)
        return Round(reply["quanta"], reply["metrics"])

    rounds = measure(benchmark, clock, cell, one_round)
    benchmark.extra_info.update(BY_NAME[cell.workload].summarize(rounds, cell.params))
    benchmark.extra_info.update(collector_summary(rounds))
    if rounds and not benchmark.disabled:
        benchmark.extra_info.update(measure_between_processes(cell, statistics.median(r.seconds for r in rounds)))
    return rounds


def collector_summary(rounds: list[Round]) -> dict[str, Any]:
    """The garbage collector inside the windows (``workloads.runtime.collector``): median pause, its share
    of the round (the median of each round's pauses over its time), full collections per round, whether
    automatic collection was on, and the collector's settings and design the worker reported."""
    logged = [r for r in rounds if "gc_pause_s" in r.metrics]
    if not logged:
        return {}
    last = logged[-1].metrics
    return cell_info(
        gc_pause_s=statistics.median(r.metrics["gc_pause_s"] for r in logged),
        gc_share=statistics.median(r.metrics["gc_pause_s"] / r.seconds for r in logged if r.seconds > 0),
        gc_full_collections=statistics.median(r.metrics["gc_collections"][2] for r in logged),
        gc_automatic=last["gc_automatic"],
        **{key: last[key] for key in GC_FACTS if key in last},
    )


GC_FACTS = ("gc_thresholds", "gc_frozen_objects", "gc_design")
"""The collector's settings in force, as the worker read them (the same every round)."""


def measure(benchmark: Any, clock: VirtualClock, cell: Cell, run_one: Callable[[], Round]) -> list[Round]:
    """Run the cell's warm-up and measured rounds; return the measured ones.

    ``run_one`` performs one checked round and returns its in-process duration;
    the virtual clock advances by exactly that, so it is what pytest-benchmark records.
    """
    rounds: list[Round] = []

    def one_round() -> None:
        result = run_one()
        clock.advance(result.quanta)
        rounds.append(result)

    try:
        benchmark.pedantic(one_round, rounds=cell.plan.rounds, warmup_rounds=cell.plan.warmup_rounds, iterations=1)
    except BaseException:
        # pytest-benchmark flags Exceptions itself, but not KeyboardInterrupt (Ctrl-C, SIGTERM): a cell cut
        # short must not be saved as a result with missing rounds.
        benchmark.has_error = True
        raise
    measured = rounds if benchmark.disabled else rounds[cell.plan.warmup_rounds :]
    model = lookup(cell.model)
    benchmark.extra_info.update(
        cell_info(
            model=cell.model,
            family=model.family,
            reference_scheduler=model.reference,
            workload=cell.workload,
            params=cell.params,
            gc_regime=cell.gc_regime,
            **({"variant": cell.variant} if cell.variant else {}),
            default_variant=cell.variant in (None, model.variants_of(BY_NAME[cell.workload].variant_workload)[0]),
            **unranked(model.unranked_variants, cell.workload, cell.variant),
            versions=versions(cell.model, measured),
            **interpreter_info(cell, measured),
            rounds=len(measured),
            warmup_rounds=0 if benchmark.disabled else cell.plan.warmup_rounds,
            peak_rss_bytes=max_metric(measured, "peak_rss_bytes"),
            **side_cost(measured, len(cell.cores)),
            **({"peer_host": remote.destination} if (remote := peer_host.remote_peer_for(cell.workload)) else {}),
        )
    )
    for key in ONE_OFF_KEYS:
        if measured and key in measured[-1].metrics:
            benchmark.extra_info.update(cell_info(**{key: measured[-1].metrics[key]}))
    if measured:
        benchmark.extra_info.update(model_config(measured[-1]))
    return measured


def unranked(reasons: Any, workload: str, variant: str | None) -> dict[str, str]:
    """``{"unranked": why}`` for a variant whose figure is not the same work as the other rows', else nothing."""
    reason = reasons.get((workload, variant or ""))
    return {"unranked": reason} if reason else {}


UNDER_TEST_CPU_KEYS = ("cpu_s", "server_cpu_s", "client_cpu_s")
"""Per-round CPU seconds of the side under test, by who timed the round: the worker's group across its window
(in-worker workloads), the server's group (tcp_echo), the model's client (tcp_client)."""


def side_cost(rounds: list[Round], cores_given: int) -> dict[str, Any]:
    """What the side under test spent for its result: ``cores_given`` (the cores the harness let it use),
    ``cores_used`` (median CPU seconds per second of round: 1.6 is one core and six tenths of another) and
    ``cpu_s_per_round`` (median CPU seconds a round), so a win bought with a second core says so."""
    cost: dict[str, Any] = {"cores_given": cores_given}
    key = next((k for k in UNDER_TEST_CPU_KEYS if rounds and all(k in r.metrics for r in rounds)), None)
    if key is not None:
        cost["cpu_s_per_round"] = statistics.median(r.metrics[key] for r in rounds)
        cost["cores_used"] = statistics.median(r.metrics[key] / r.seconds for r in rounds if r.seconds > 0)
    elif rounds and all("server_cpu_util" in r.metrics for r in rounds):  # tcp_latency: a rate's server CPU
        cost["cores_used"] = statistics.median(r.metrics["server_cpu_util"] for r in rounds)
    return cost


CONFIG_PREFIX = "config_"
"""Round metrics whose key starts with this are the model's configuration (e.g. a library setting a
variant changed), reported by the model's ``setup_metrics`` hook and saved with the cell as they are."""


def model_config(measured: Round) -> dict[str, Any]:
    return cell_info(**{key: value for key, value in measured.metrics.items() if key.startswith(CONFIG_PREFIX)})


def versions(model: str, rounds: list[Round]) -> dict[str, str]:
    """Library versions, and the Python the worker ran (reported by the worker; else this process's)."""
    reported = next((r.metrics["python"] for r in rounds if r.metrics.get("python")), None)
    libraries = next((r.metrics["library_versions"] for r in rounds if "library_versions" in r.metrics), None)
    return {
        "python": reported or platform.python_version(),
        **(lookup(model).versions() if libraries is None else libraries),
    }


def server_interpreter_info(benchmark: Any, hello: dict[str, Any]) -> None:
    """For cells timed by a peer (echo): record the interpreter the server under test said hello from."""
    if "python_build" not in hello:
        return
    benchmark.extra_info["versions"] = {
        **benchmark.extra_info.get("versions", {}),
        "python": hello["python"],
        **hello.get("library_versions", {}),
    }
    benchmark.extra_info.update(
        cell_info(
            python_version=hello["python"],
            python_implementation=hello["python_implementation"],
            python_build=hello["python_build"],
            gil_enabled=hello["gil_enabled"],
        )
    )


def interpreter_info(cell: Cell, rounds: list[Round]) -> dict[str, Any]:
    """What the worker reported about its interpreter; the GIL counts as enabled if it was in any round."""
    reported = [r.metrics for r in rounds if "python_build" in r.metrics]
    info: dict[str, Any] = {}
    if reported:
        info.update(
            python_version=reported[-1]["python"],
            python_implementation=reported[-1]["python_implementation"],
            python_build=reported[-1]["python_build"],
            gil_enabled=any(m.get("gil_enabled", True) for m in reported),
        )
    if cell.interpreter is not None:
        info["interpreter"] = cell.interpreter.spec
    return info


def max_metric(rounds: list[Round], key: str) -> Any:
    values = [r.metrics[key] for r in rounds if r.metrics.get(key) is not None]
    return max(values) if values else None
