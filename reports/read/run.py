"""Read and validate saved pytest-benchmark runs into typed records (JSON only; no benchmark code is imported).

A run file is what pytest-benchmark writes with ``--benchmark-json`` or ``--benchmark-autosave``:
``machine_info``, ``commit_info``, ``datetime``, ``version`` and ``benchmarks[]``, each benchmark with
``group``, ``name``, ``stats`` (``median``, ``q1``, ``q3``, ..., ``data`` = raw per-round seconds) and
corobench's ``extra_info`` (``reports.read.format``). Every file is first brought to the current format
by ``reports.read.upgrade``; a ``Result`` keeps its ``extra_info`` as saved too (``saved``), for
``results.csv``. Anything that is not such a file raises ``ReportInputError`` naming the file and what
is wrong. Uses only ``json``.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from reports.read.format import SECTION
from reports.read.schemas import WorkloadSchema, schemas_of
from reports.read.upgrade import NewerFormat, upgrade

REQUIRED_STATS = ("median", "q1", "q3", "min", "max", "rounds")
BOTTLENECKS = ("under_test", "peer", "neither")
"""``extra_info["bottleneck"]``: the side under test was saturated; the peer set the pace; nothing was (stalled)."""
BOTTLENECK_TEXT = {"peer": "peer-bound", "neither": "stalled"}


class ReportInputError(Exception):
    """The input cannot be reported on (missing, unreadable, truncated or foreign); exit status 2."""


@dataclass(frozen=True)
class Stats:
    median: float
    q1: float
    q3: float
    min: float
    max: float
    mean: float
    rounds: int
    data: tuple[float, ...]


@dataclass(frozen=True)
class Result:
    """One benchmark of a run: one model (and variant) on one group's work."""

    group: str
    name: str
    fullname: str
    model: str
    variant: str | None
    workload: str
    params: dict[str, Any]
    stats: Stats
    extra: dict[str, Any]
    """``extra_info`` in the current format (what everything reads)."""
    saved: dict[str, Any] = field(default_factory=dict)
    """``extra_info`` exactly as the file holds it (what ``results.csv`` writes)."""

    @property
    def label(self) -> str:
        """The series name used in every chart and table: ``asyncio`` or ``asyncio (streams)``."""
        return f"{self.model} ({self.variant})" if self.variant else self.model

    @property
    def key(self) -> tuple[str, str]:
        """What identifies this result across runs: its group and its series label."""
        return (self.group, self.label)

    def metric(self, key: str) -> float | None:
        """A numeric extra_info metric, or None when absent, null, boolean or not finite."""
        value = self.extra.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return float(value) if math.isfinite(value) else None

    @property
    def bottleneck(self) -> str:
        """'under_test' (rankable), 'peer' (the load generator or reference server set the pace) or 'neither'."""
        saved = self.extra.get("bottleneck")
        return str(saved) if saved in BOTTLENECKS else "under_test"

    @property
    def bound(self) -> str | None:
        """How a cell that did not measure the side under test is named ('client-bound', 'stalled', ...), else None."""
        kind = self.bottleneck
        if kind == "under_test":
            return None
        evidence = self.extra.get("bottleneck_evidence")
        named = evidence.get("bound") if isinstance(evidence, dict) else None
        return named if kind == "peer" and isinstance(named, str) else BOTTLENECK_TEXT[kind]

    @property
    def reference_scheduler(self) -> bool:
        """One of the suite's own schedulers (a lower bound nobody deploys), never a winner."""
        return self.extra.get("reference_scheduler") is True

    @property
    def default_variant(self) -> bool:
        return self.extra.get("default_variant") is True


@dataclass(frozen=True)
class Machine:
    node: str
    cpu_brand: str
    cores: int | None
    python: str
    system: str

    @property
    def short(self) -> str:
        cores = f", {self.cores} cores" if self.cores else ""
        return f"{self.cpu_brand}{cores}"


@dataclass(frozen=True)
class Run:
    path: Path
    machine: Machine
    commit: dict[str, Any]
    datetime: str
    version: str
    results: tuple[Result, ...]
    warnings: tuple[str, ...] = field(default=())
    status: tuple[tuple[str, Any], ...] = field(default=())
    """The suite's own record of the session (``"corobench"`` in the JSON): partial, failed and skipped cells."""

    @property
    def session(self) -> dict[str, Any]:
        return dict(self.status)

    @cached_property
    def schemas(self) -> dict[str, WorkloadSchema]:
        """Every workload's schema the run carries, in report order."""
        return schemas_of(self.session)

    @property
    def environment(self) -> dict[str, Any]:
        """``corobench.environment`` (command, profile, pip freeze, cores, Python build, load), when recorded."""
        env = self.session.get("environment")
        return env if isinstance(env, dict) else {}

    @property
    def placement(self) -> dict[str, Any]:
        """``corobench.placement`` (one host or two, each described, the idle round trip); {} before it was saved."""
        found = self.session.get("placement")
        return found if isinstance(found, dict) else {}

    @property
    def stem(self) -> str:
        return self.path.stem

    @property
    def short_id(self) -> str:
        """``0007`` for an autosaved ``0007_<commit>_<date>`` run, else the file stem."""
        match = re.match(r"^(\d{4})_", self.stem)
        return match.group(1) if match else self.stem

    @property
    def library_versions(self) -> dict[str, str]:
        """Every version recorded in the results' ``extra_info["versions"]`` (several joined by ', ')."""
        found: dict[str, set[str]] = {}
        for result in self.results:
            versions = result.extra.get("versions")
            if isinstance(versions, dict):
                for name, version in versions.items():
                    found.setdefault(str(name), set()).add(str(version))
        return {name: ", ".join(sorted(values)) for name, values in found.items()}

    @property
    def date(self) -> str:
        """The run's date as YYYY-MM-DD HH:MM (UTC as saved), or '?' when unknown."""
        return self.datetime[:16].replace("T", " ") if self.datetime else "?"


def load_run(path: Path) -> Run:
    """Read one pytest-benchmark JSON file; raise ReportInputError saying what is wrong with it."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReportInputError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportInputError(f"{path}: cannot be read ({exc})") from None
    if not text.strip():
        raise ReportInputError(f"{path}: the file is empty")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        hint = " (the file looks truncated)" if exc.pos >= len(text.rstrip()) else ""
        raise ReportInputError(
            f"{path}: not valid JSON{hint}: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    return parse_run(path, doc)


def parse_run(path: Path, doc: Any) -> Run:
    if not isinstance(doc, dict) or not isinstance(doc.get("benchmarks"), list):
        raise ReportInputError(f"{path}: not a pytest-benchmark results file (no 'benchmarks' list at the top level)")
    if "machine_info" not in doc and "version" not in doc:
        raise ReportInputError(f"{path}: not a pytest-benchmark results file (no 'machine_info' or 'version')")
    try:
        current = upgrade(doc)
    except NewerFormat as exc:
        raise ReportInputError(f"{path}: {exc}") from None
    results: list[Result] = []
    warnings: list[str] = []
    for index, (bench, as_saved) in enumerate(zip(current["benchmarks"], doc["benchmarks"], strict=True)):
        result = _parse_result(path, index, bench, as_saved)
        if isinstance(result, str):
            warnings.append(result)
        else:
            results.append(result)
    if not results:
        raise ReportInputError(f"{path}: the run holds no benchmark results")
    commit = doc.get("commit_info")
    session = current[SECTION]
    return Run(
        path=path,
        machine=_parse_machine(doc.get("machine_info")),
        commit=commit if isinstance(commit, dict) else {},
        datetime=str(doc.get("datetime") or ""),
        version=str(doc.get("version") or "?"),
        results=tuple(results),
        warnings=tuple(warnings),
        status=tuple(session.items()) if isinstance(session, dict) else (),
    )


def _parse_machine(info: Any) -> Machine:
    info = info if isinstance(info, dict) else {}
    cpu = info.get("cpu") if isinstance(info.get("cpu"), dict) else {}
    cores = cpu.get("count")
    return Machine(
        node=str(info.get("node") or "?"),
        cpu_brand=str(cpu.get("brand_raw") or info.get("processor") or info.get("machine") or "unknown CPU"),
        cores=cores if isinstance(cores, int) and not isinstance(cores, bool) else None,
        python=str(info.get("python_version") or "?"),
        system=" ".join(str(info[k]) for k in ("system", "release") if info.get(k)),
    )


def _parse_result(path: Path, index: int, bench: Any, as_saved: Any) -> Result | str:
    """A Result, or a warning string when this entry has no usable statistics (skipped, errored)."""
    where = f"{path}: benchmark #{index}"
    if not isinstance(bench, dict):
        raise ReportInputError(f"{where} is not an object")
    name = bench.get("name")
    stats = bench.get("stats")
    if not isinstance(name, str) or not isinstance(stats, dict):
        raise ReportInputError(f"{where} has no 'name' or no 'stats' (not a pytest-benchmark results file?)")
    missing = [key for key in REQUIRED_STATS if not _is_number(stats.get(key))]
    if missing:
        return f"{where} ({name}) has no {', '.join(missing)} in its stats; left out"
    extra: dict[str, Any] = bench["extra_info"] if isinstance(bench.get("extra_info"), dict) else {}
    group = _text_or(bench.get("group"), "")
    workload = _text_or(extra.get("workload"), (group or name).split("[")[0])
    model = _text_or(extra.get("model"), name)
    params: dict[str, Any] = extra["params"] if isinstance(extra.get("params"), dict) else {}
    variant = _text_or(extra.get("variant"), "") or None
    data = stats.get("data")
    return Result(
        group=group or workload,
        name=name,
        fullname=str(bench.get("fullname") or name),
        model=model,
        variant=variant,
        workload=workload,
        params=dict(params),
        stats=Stats(
            median=float(stats["median"]),
            q1=float(stats["q1"]),
            q3=float(stats["q3"]),
            min=float(stats["min"]),
            max=float(stats["max"]),
            mean=float(stats["mean"] if _is_number(stats.get("mean")) else stats["median"]),
            rounds=int(stats["rounds"]),
            data=tuple(float(x) for x in data if _is_number(x)) if isinstance(data, list) else (),
        ),
        extra=dict(extra),
        saved=dict(as_saved["extra_info"]) if isinstance(as_saved.get("extra_info"), dict) else {},
    )


def _text_or(value: Any, default: str) -> str:
    return value if isinstance(value, str) and value else default


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def merge_runs(runs: list[Run]) -> Run:
    """Several runs as one (e.g. one saved run per model); a later run's result replaces an earlier one's."""
    if len(runs) == 1:
        return runs[0]
    by_key: dict[tuple[str, str], Result] = {}
    warnings = [w for run in runs for w in run.warnings]
    for run in runs:
        for result in run.results:
            if result.key in by_key:
                warnings.append(f"{result.label} in {result.group} appears in several runs; using {run.stem}")
            by_key[result.key] = result
    mismatch = machine_mismatch(runs)
    if mismatch:
        warnings.insert(0, mismatch)
    last = runs[-1]
    stem = "merged_" + "_".join(run.stem.split("_")[0] for run in runs)
    return Run(
        path=last.path.with_name(stem + ".json"),
        machine=last.machine,
        commit=last.commit,
        datetime=last.datetime,
        version=last.version,
        results=tuple(by_key.values()),
        warnings=tuple(warnings),
        status=_merged_status(runs),
    )


def _merged_status(runs: list[Run]) -> tuple[tuple[str, Any], ...]:
    """Partial if any run was; every run's failed and skipped cells."""
    sessions = [run.session for run in runs if run.session]
    if not sessions:
        return ()
    workloads: dict[str, Any] = {}
    for s in sessions:
        if isinstance(s.get("workloads"), dict):
            workloads.update(s["workloads"])
    merged: list[tuple[str, Any]] = [
        ("partial", any(s.get("partial") for s in sessions)),
        ("failed_cells", [cell for s in sessions for cell in s.get("failed_cells", [])]),
        ("skipped_cells", [cell for s in sessions for cell in s.get("skipped_cells", [])]),
    ]
    if workloads:
        merged.append(("workloads", workloads))
    environments = [s["environment"] for s in sessions if isinstance(s.get("environment"), dict)]
    if environments:
        merged.append(("environment", environments[-1]))
    placements = [s["placement"] for s in sessions if isinstance(s.get("placement"), dict)]
    if placements:
        merged.append(("placement", placements[-1]))
    return tuple(merged)


def machine_mismatch(runs: list[Run]) -> str | None:
    """One plain sentence when the runs were not all made on the same machine and Python, else None."""
    fields = (("node", "machine"), ("cpu_brand", "CPU"), ("cores", "cores"), ("python", "Python"))
    diffs = []
    for attr, label in fields:
        values = [str(getattr(run.machine, attr)) for run in runs]
        if len(set(values)) > 1:
            diffs.append(f"{label} " + " vs ".join(values))
    if not diffs:
        return None
    names = ", ".join(run.stem for run in runs)
    return (
        f"WARNING: these runs come from different machines ({'; '.join(diffs)}): {names}. "
        "Differences between them measure the machines as much as the code."
    )
