"""The saved-run format: what a corobench run adds to pytest-benchmark's JSON. Its one owner.

pytest-benchmark writes ``machine_info``, ``commit_info``, ``datetime``, ``version`` and ``benchmarks[]``
(each with ``group``, ``name``, ``stats``). corobench adds two things, both declared here:

- ``benchmarks[].extra_info``: one cell's facts. Every key is a line of ``CELL_KEYS`` (name, type,
  unit, meaning), or one of the metrics its workload declares in the schema the run carries
  (``corobench.workloads[<workload>].metrics`` and ``flags``, written from ``workloads/specs``), or
  starts with a prefix of ``CELL_PREFIXES``. Adding a key is one line in ``CELL_KEYS``.
- ``corobench``: the run's own record (``RUN_KEYS``), written through ``run_record`` from pytest-benchmark's
  public ``pytest_benchmark_update_json`` hook; it carries ``format_version``.

``FORMAT_VERSION`` counts changes a reader must know about. A run without ``format_version`` is version
0 (saved before this module): ``reports.read.upgrade`` brings it to the current version, and no other
module knows what older versions looked like. The benchmarks side writes through ``cell_info`` and
``run_record``; the reports side reads what ``reports.read.upgrade`` returns. Stdlib only, so the
pytest process imports it without the report code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

FORMAT_VERSION = 1
SECTION = "corobench"
"""The top-level key of pytest-benchmark's JSON that holds the run's own record."""

JSON = dict[str, Any]
Number = (int, float)


@dataclass(frozen=True)
class Key:
    """One key of the format: its name, the JSON types it may hold, its unit and what it means."""

    name: str
    types: tuple[type, ...]
    unit: str
    meaning: str
    column: bool = False
    """A number shown as a table column of a workload whose schema names no columns (a measurement)."""


def _k(name: str, types: type | tuple[type, ...], unit: str, meaning: str, *, column: bool = False) -> Key:
    return Key(name, types if isinstance(types, tuple) else (types,), unit, meaning, column)


OPTIONAL_NUMBER = (int, float, type(None))

CELL_KEYS: tuple[Key, ...] = (
    _k("model", str, "", "the model's registry name"),
    _k("family", str, "", "the model's family: greenlet, event_loop, threads, processes"),
    _k("reference_scheduler", bool, "", "one of the suite's own schedulers: a lower bound nobody deploys"),
    _k("workload", str, "", "the workload's name (its spec in workloads/specs)"),
    _k("params", dict, "", "the cell's parameters, by name"),
    _k("variant", str, "", "the model's variant, when the cell ran one"),
    _k("default_variant", bool, "", "the variant is the model's default for this workload"),
    _k("versions", dict, "", "library versions and the worker's Python"),
    _k("python_version", str, "", "the interpreter the worker (or server under test) reported"),
    _k("python_implementation", str, "", "CPython, PyPy, ..."),
    _k("python_build", str, "", "default or free-threaded"),
    _k("gil_enabled", bool, "", "the GIL was enabled in any round"),
    _k("interpreter", str, "", "the --python spec the worker was chosen by"),
    _k("rounds", int, "rounds", "measured rounds"),
    _k("warmup_rounds", int, "rounds", "warm-up rounds before them"),
    _k("peak_rss_bytes", OPTIONAL_NUMBER, "bytes", "largest peak resident set of a round", column=True),
    _k("pool_startup_s", Number, "s", "the hybrid's process pool start-up, not timed", column=True),
    _k("processes", int, "", "processes the hybrid started", column=True),
    _k("peer_host", str, "", "the host the cell's load generator ran on (--peer-host); absent: this host"),
    _k("server_loops", int, "loops", "event loops a multi-loop model's server ran (one per core it was given)"),
    _k("parallel_loops", int, "loops", "of those, loops able to run Python at once (own GIL, or none)"),
    _k("listener", str, "", "how a multi-loop server's loops share its port: SO_REUSEPORT or shared socket"),
    _k("server_loop_connections", list, "connections", "connections each of the server's loops accepted"),
    _k("allocator_state", str, "", "glibc's allocator state the worker observed (warm or cold)"),
    _k("peer_allocator_state", str, "", "the same, observed by the peer"),
    _k("gc_pause_s", Number, "s", "median collector pause inside a round's window", column=True),
    _k("gc_full_collections", Number, "", "median full collections per round", column=True),
    _k("gc_share", Number, "share", "median share of a round's window spent in collector pauses", column=True),
    _k("gc_automatic", bool, "", "automatic garbage collection was on inside rounds"),
    _k("gc_regime", str, "", "the collector regime the cell ran under: auto, frozen (gc.freeze() once ready) or off"),
    _k("gc_thresholds", list, "", "gc.get_threshold() in the worker"),
    _k("gc_frozen_objects", int, "objects", "objects gc.freeze() moved to the permanent generation (frozen)"),
    _k("gc_design", str, "", "the interpreter's kind of cyclic collector (generational, incremental, free-threaded)"),
    _k("cores", int, "cores", "cores the cell's worker could use"),
    _k("server_cores_given", int, "cores", "cores given to the echo server under test", column=True),
    _k("client_cores_given", int, "cores", "cores given to the client under test", column=True),
    _k("pinned_to_separate_cores", bool, "", "the side under test and its peer ran on cores of their own"),
    _k("bottleneck", str, "", "under_test (rankable), peer (the peer set the pace) or neither (stalled)"),
    _k("bottleneck_evidence", dict, "", "the utilisations the bottleneck was judged from"),
    _k("generator_impl", str, "", "which load generator loop ran: c or python"),
    _k("generator_wait", str, "", "how the load generator waited: spin or sleep"),
    _k("reference_server_wait", str, "", "how the reference server waited: spin or sleep"),
    _k(
        "generator_lag_bound_s",
        Number,
        "s",
        "the open-loop generator's lag p99 above which a rate is not ranked",
        column=True,
    ),
    _k("rates", list, "", "every open-loop rate measured: offered, achieved, percentiles, lag, kind"),
    _k("open_loop_saturation", dict, "", "the overload run: the rate the server echoed at 8x closed-loop"),
    _k("latency_p99_common_median_s", Number, "s", "median p99 over the rates common to every server", column=True),
    _k("capacity_p99_1ms", dict, "", "the capacity search under p99 <= 1 ms: bracket, precision, at_least"),
    _k("capacity_p99_10ms", dict, "", "the capacity search under p99 <= 10 ms"),
    _k("depth", int, "messages", "open-loop pipelining depth: messages in flight per connection (1: request/response)"),
    _k("closed_loop_bound", dict, "", "each capacity over the closed-loop throughput, and which exceeded it"),
    _k("exceeds_closed_loop", bool, "", "a depth-1 capacity beat the closed loop by more than the tolerance"),
    _k("connection_limited", bool, "", "a capacity was bounded by the connections (rate x latency), not the server"),
    _k("connection_limited_rates_msgs_per_s", list, "msgs/s", "offered rates the connections could not carry"),
    _k("cores_given", int, "cores", "cores the side under test was allowed to use", column=True),
    _k("cores_used", Number, "cores", "median CPU seconds per second of round of the side under test", column=True),
    _k("cpu_s_per_round", Number, "s", "median CPU seconds a round of the side under test", column=True),
    _k("unranked", str, "", "why this variant is not the same work as the other rows (not ranked)"),
    _k("between_processes", dict, "", "median round time in fresh worker processes and their relative spread"),
    _k("http_tier", str, "", "own (the library's own HTTP server) or same_parser (httptools over the model's sockets)"),
    _k("http_library_versions", dict, "", "installed versions of uvicorn, aiohttp, httptools, h11"),
)
CELL_PREFIXES: tuple[Key, ...] = (
    _k("config_", (str, int, float, bool, type(None)), "", "a library setting the model's variant changed"),
)
RUN_KEYS: tuple[Key, ...] = (
    _k("format_version", int, "", "FORMAT_VERSION of the writer"),
    _k("partial", bool, "", "the run was cut short by Ctrl-C or SIGTERM"),
    _k("interrupted_by", (str, type(None)), "", "SIGINT or SIGTERM, when partial"),
    _k("profile", str, "", "quick, default or full"),
    _k("models", list, "", "the models selected"),
    _k("workloads", dict, "", "every selected workload's schema (Schema.to_json), by name"),
    _k("failed_cells", list, "", "{test, when, cause} of every failed cell"),
    _k("skipped_cells", list, "", "{test, reason} of every skipped cell"),
    _k("environment", dict, "", "command, profile, pip freeze, cores, Python build, load average"),
    _k("interpreters", list, "", "the --python interpreters, when given"),
    _k("placement", dict, "", "hosts (1 or 2), each host's description, the idle round trip (--peer-host)"),
)
CELL = {key.name: key for key in CELL_KEYS}
RUN = {key.name: key for key in RUN_KEYS}


class FormatError(ValueError):
    """A writer used a key, or a type, that the format does not declare."""


def cell_key(name: str) -> Key | None:
    """The declaration of a format-level ``extra_info`` key (not a workload's metric), else None."""
    return CELL.get(name) or next((p for p in CELL_PREFIXES if name.startswith(p.name)), None)


def declared_by(schema: Mapping[str, Any] | None) -> set[str]:
    """The extra_info keys a saved workload schema declares: its metrics and its flags."""
    if not isinstance(schema, Mapping):
        return set()
    metrics = schema.get("metrics") or []
    return {m["key"] for m in metrics if isinstance(m, Mapping) and "key" in m} | set(schema.get("flags") or [])


def undeclared(extra_info: Mapping[str, Any], schema: Mapping[str, Any] | None) -> list[str]:
    """Keys of one cell that neither this module nor its workload's schema declares, or with the wrong type."""
    metrics = declared_by(schema)
    bad = []
    for name, value in extra_info.items():
        key = cell_key(name)
        if key is None and name not in metrics:
            bad.append(f"{name}: not declared")
        elif key is not None and not _has_type(value, key.types):
            bad.append(f"{name}: {type(value).__name__}, declared {'/'.join(t.__name__ for t in key.types)}")
    return bad


def cell_info(**values: Any) -> JSON:
    """The format-level keys of one cell, checked against ``CELL_KEYS`` (the writer's one way in)."""
    for name, value in values.items():
        key = cell_key(name)
        if key is None:
            raise FormatError(f"extra_info[{name!r}] is not declared in reports.read.format.CELL_KEYS")
        if not _has_type(value, key.types):
            raise FormatError(f"extra_info[{name!r}] = {value!r} is not {key.types}")
    return dict(values)


def run_record(values: Mapping[str, Any]) -> JSON:
    """The run's ``corobench`` section, checked against ``RUN_KEYS`` and stamped with ``FORMAT_VERSION``."""
    record = {"format_version": FORMAT_VERSION, **values}
    unknown = sorted(set(record) - set(RUN))
    if unknown:
        raise FormatError(f"corobench[{unknown[0]!r}] is not declared in reports.read.format.RUN_KEYS")
    return record


def version_of(doc: Mapping[str, Any]) -> int:
    """The format version a saved document was written in (0: before versions were written)."""
    section = doc.get(SECTION)
    version = section.get("format_version") if isinstance(section, Mapping) else None
    return version if isinstance(version, int) and not isinstance(version, bool) else 0


def _has_type(value: Any, types: Iterable[type]) -> bool:
    types = tuple(types)
    if isinstance(value, bool):
        return bool in types
    return isinstance(value, types)
