"""corobench's pytest plugin: options, one parametrized test per cell, fixtures, saved-run metadata.

- ``--models``, ``--workloads``, ``--profile`` choose the cells (see
  ``benchmarks/harness/selection.py``); bad names are usage errors.
- ``--python=SPEC[,SPEC...]`` runs every cell's worker under each named interpreter
  (``benchmarks/harness/interpreters.py`` resolves them, a bad spec is a usage error;
  ``environments.py`` gives each its libraries, creating a cached venv at session start with its
  progress on the terminal). Without it nothing changes.
- Every cell gets its own ``benchmark`` marker carrying its group and a fresh
  ``VirtualClock`` as the timer, so pytest-benchmark records worker time.
- ``worker`` starts a fresh worker interpreter for each test and always stops it.
- The saved JSON's ``corobench`` section says whether the run is complete, which cells failed or
  were skipped, and every workload's metric schema, so reports need no table of their own.
- At the end of the session the pytest process must not have imported any
  library that patches or owns process-global state.

The root ``conftest.py`` only registers this module (``pytest_plugins``).
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import pytest

from benchmarks.harness import peer_host
from benchmarks.harness.between_processes import REPEAT_PLAN, extra_processes
from benchmarks.harness.cells import PROFILES, Cell
from benchmarks.harness.environments import EnvironmentFailed, PreparedInterpreter, prepare
from benchmarks.harness.interpreters import Interpreter, InterpreterError, newer_for, parse_interpreters
from benchmarks.harness.progress import PlannedCell, Progress
from benchmarks.harness.provenance import describe_environment, load_average
from benchmarks.harness.report_hook import report_after_session
from benchmarks.harness.run_record import current_run, start_run, stop_on_sigterm
from benchmarks.harness.selection import Selection, SelectionError, parse_selection
from benchmarks.harness.settings import SettingError, check_settings
from benchmarks.harness.storage_lock import StorageLock, storage_folder
from benchmarks.harness.virtual_clock import VirtualClock
from benchmarks.harness.worker_client import WorkerClient, WorkerFailed
from reports.read import format as run_format
from workloads.interface import BY_NAME, WORKLOADS
from workloads.models.registry import lookup
from workloads.runtime import host_facts

FORBIDDEN_IN_PYTEST_PROCESS = ("gevent", "eventlet", "twisted.internet.reactor")
_selection_key = pytest.StashKey[Selection]()
_progress_key = pytest.StashKey[Progress]()
_load_at_start_key = pytest.StashKey[list[float]]()
_interpreters_key = pytest.StashKey[list[Interpreter] | None]()
_placement_key = pytest.StashKey[dict[str, Any]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("corobench")
    group.addoption("--models", default=None, help="comma-separated models (default: every installed model)")
    group.addoption("--workloads", default=None, help="comma-separated workloads (default: all)")
    group.addoption("--profile", default="default", help=f"size of the run: {', '.join(PROFILES)} (default: default)")
    group.addoption("--no-report", action="store_true", help="do not write the charts and report after saving")
    group.addoption(
        "--gc",
        default=None,
        help="comma-separated collector regimes every cell runs under: auto (CPython's automatic collection), "
        "frozen (gc.freeze() once the model is imported and ready), off (default: auto, and the profile's "
        "fan-out sample under frozen)",
    )
    group.addoption(
        "--peer-host",
        default=None,
        help="[user@]host: run the load generators of tcp_echo, tcp_latency, http_server and http_latency there, "
        "over ssh (your keys and config; the suite must be installed there, see the README); needs --bind",
    )
    group.addoption(
        "--bind",
        default=None,
        help="with --peer-host: this machine's IPv4 address that the peer host reaches; the servers under test "
        "listen on it and on nothing else",
    )
    group.addoption(
        "--peer-suite",
        default=None,
        help="with --peer-host: the suite's checkout there (default: this checkout's path)",
    )
    group.addoption("--ssh-config", default=None, help="with --peer-host: an ssh config file (ssh -F)")
    group.addoption(
        "--python",
        default=None,
        help="comma-separated interpreters the workers run under: versions (3.13, found on PATH, with pyenv or uv) "
        "or paths; environments with the model libraries are created and cached under .corobench/venvs/",
    )


def pytest_configure(config: pytest.Config) -> None:
    global _config
    _config = config
    config.addinivalue_line("markers", "workload(name): a benchmark test parametrized over that workload's cells")
    start_run()
    stop_on_sigterm()
    config.stash[_load_at_start_key] = load_average()
    try:
        check_settings()
        config.stash[_selection_key] = parse_selection(
            config.getoption("--models"),
            config.getoption("--workloads"),
            config.getoption("--profile"),
            config.getoption("--gc"),
        )
        config.stash[_interpreters_key] = parse_interpreters(config.getoption("--python"))
        peer_host.configure(
            peer_host.parse_peer_host(
                config.getoption("--peer-host"),
                config.getoption("--bind"),
                config.getoption("--peer-suite"),
                config.getoption("--ssh-config"),
            )
        )
    except (SettingError, SelectionError, InterpreterError, peer_host.PeerHostError) as exc:
        raise pytest.UsageError(str(exc)) from None


def pytest_sessionstart(session: pytest.Session) -> None:
    """Give every ``--python`` interpreter its environment before any cell is collected; without ``--python``,
    find and prepare a newer interpreter for each model named in ``--models`` that pytest's Python is too old for."""
    config = session.config
    interpreters = config.stash[_interpreters_key]
    say = _terminal_line(config)
    config.stash[_placement_key] = _placement(say)
    selection = config.stash[_selection_key]
    try:
        if interpreters:
            prepared = [prepare(interpreter, say) for interpreter in interpreters]
            config.stash[_selection_key] = dataclasses.replace(selection, interpreters=prepared)
        elif config.getoption("--models") is not None:
            newer = _newer_interpreters(selection.models, say)
            config.stash[_selection_key] = dataclasses.replace(selection, model_interpreters=newer)
    except EnvironmentFailed as exc:
        raise pytest.UsageError(str(exc)) from None


def _placement(say: Any) -> dict[str, Any]:
    """Where the sides run: this host alone, or with the peer host (described, and the idle round trip).

    A peer host that cannot be used is said here in one line and recorded; every cell that needs it then fails
    with its own one-line cause, and the cells without peers still run."""
    remote = peer_host.current()
    try:
        placement = peer_host.describe_placement(remote)
    except peer_host.PeerHostError as exc:
        say(f"corobench: {exc}")
        return {"hosts": 2, "server_host": host_facts.describe(), "error": str(exc)}
    if remote is not None:
        peer, rtt = placement["peer_host"], placement["round_trip_us"]
        say(
            f"corobench: peers on {remote.destination} ({peer['cpu_model']}, {peer['cores']} cores, {peer['python']}); "
            f"servers bind {remote.bind}; idle round trip {rtt['median']:.0f} µs (median of {rtt['count']})"
        )
    return placement


def _newer_interpreters(models: list[str], say: Any) -> dict[str, PreparedInterpreter]:
    """Models asked for by name whose ``needs_python`` this interpreter does not meet, each with the newest
    Python found here that does (its environment prepared); a model with none keeps its skip and reason."""
    found: dict[str, PreparedInterpreter] = {}
    for model in models:
        needs = lookup(model).needs_python
        if needs is None or tuple(sys.version_info[:2]) >= needs[0]:
            continue
        newer = newer_for(needs[0])
        if newer is None:
            continue
        say(f"corobench: {model} needs Python {'.'.join(map(str, needs[0]))}+; its cells run under {newer.description}")
        found[model] = prepare(newer, say)
    return found


def _terminal_line(config: pytest.Config) -> Any:
    """Write progress lines straight to the terminal, past pytest's output capture."""
    capture = config.pluginmanager.getplugin("capturemanager")

    def say(line: str) -> None:
        disabled: AbstractContextManager[Any] = capture.global_and_fixture_disabled() if capture else nullcontext()
        with disabled:
            sys.stderr.write(line + "\n")
            sys.stderr.flush()

    return say


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marker = metafunc.definition.get_closest_marker("workload")
    if marker is None:
        return
    cells = metafunc.config.stash[_selection_key].cells(marker.args[0])
    params = []
    for cell in cells:
        marks = [pytest.mark.benchmark(group=cell.group, timer=VirtualClock())]
        if cell.skip_reason:
            marks.append(pytest.mark.skip(reason=cell.skip_reason))
        params.append(pytest.param(cell, id=cell.id, marks=marks))
    metafunc.parametrize("cell", params)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect (visibly) workload tests that --workloads did not choose."""
    selected = config.stash[_selection_key].workloads
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        marker = item.get_closest_marker("workload")
        (drop if marker is not None and marker.args[0] not in selected else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
    if config.getoption("verbose") > -2 and not config.getoption("benchmark_disable", False):
        config.stash[_progress_key] = Progress(planned_cells(items))


def planned_cells(items: list[pytest.Item]) -> dict[str, PlannedCell]:
    """Each benchmark cell the session will run, with its a-priori cost; skipped cells left out."""
    planned = {}
    for item in items:
        callspec = getattr(item, "callspec", None)
        cell = callspec.params.get("cell") if callspec is not None else None
        if isinstance(cell, Cell) and not cell.skip_reason:
            workload = BY_NAME[cell.workload]
            cost = workload.expected_cell_s(cell.params, cell.plan, cell.profile)
            repeats = extra_processes(cell) if workload.in_worker else 0
            cost += repeats * workload.expected_cell_s(cell.params, REPEAT_PLAN, cell.profile)
            planned[item.nodeid] = PlannedCell(cell.workload, cost)
    return planned


def pytest_runtest_logstart(nodeid: str, location: tuple[str, int | None, str]) -> None:
    if (progress := _progress()) is not None and _config is not None:
        capture = _config.pluginmanager.getplugin("capturemanager")
        if capture is None:
            progress.cell_started(nodeid)
            return
        with capture.global_and_fixture_disabled():  # the line reaches the terminal, not the capture
            progress.cell_started(nodeid)


def pytest_runtest_logfinish(nodeid: str, location: tuple[str, int | None, str]) -> None:
    if (progress := _progress()) is not None:
        progress.cell_finished(nodeid)


_config: pytest.Config | None = None


def _progress() -> Progress | None:
    return _config.stash.get(_progress_key, None) if _config is not None else None


@pytest.fixture
def virtual_clock(request: pytest.FixtureRequest) -> VirtualClock:
    marker = request.node.get_closest_marker("benchmark")
    clock = marker.kwargs.get("timer") if marker else None
    if not isinstance(clock, VirtualClock):
        raise RuntimeError("this test has no VirtualClock benchmark marker; is it parametrized by a workload?")
    return clock


@pytest.fixture
def worker(cell: Any) -> Iterator[WorkerClient]:
    python = cell.interpreter.python if cell.interpreter else None
    with WorkerClient(cell.model, env=cell.worker_env, python=python) as client:
        skip_if_worker_cannot(client, cell)
        yield client


def skip_if_worker_cannot(client: WorkerClient, cell: Any) -> None:
    """The worker said at start-up that its model cannot run here: skip the cell with its reason.

    ``unavailable`` (the model found the API it needs missing, e.g. subinterpreters) always skips;
    an import error skips only under ``--python`` (the library did not install or import in that
    interpreter's environment); in the main environment it is a broken install and fails.
    """
    cannot = client.hello.get("cannot")
    if not cannot:
        return
    where = f" under --python={cell.interpreter.spec} ({cell.interpreter.python})" if cell.interpreter else ""
    if client.hello.get("cannot_kind") == "unavailable":
        pytest.skip(f"{cell.model}{where}: {cannot}")
    if cell.interpreter is None:
        raise WorkerFailed(f"{cell.model} worker, running {client.python}, could not import its model: {cannot}")
    distributions = lookup(cell.model).distributions
    fix = f"; fix: {cell.interpreter.python} -m pip install {' '.join(distributions)}" if distributions else ""
    pytest.skip(f"{cell.model} cannot be imported{where}: {cannot}{fix}")


def pytest_keyboard_interrupt(excinfo: pytest.ExceptionInfo[BaseException]) -> None:
    run = current_run()
    run.interrupted_by = run.interrupted_by or "SIGINT"


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    current_run().record(report)


def pytest_benchmark_update_json(config: pytest.Config, benchmarks: Any, output_json: dict[str, Any]) -> None:
    """Say in the saved run whether it is complete, and which cells failed and why (``reports.read.format``).

    pytest-benchmark saves right after this hook, numbering the file after the newest one in the storage:
    two sessions saving at once would take the same number. The storage's lock is taken here and held until
    this session ends (``storage_lock``), so they number one after the other."""
    if _storage_lock is None:
        _hold_storage_lock(config)
    selection = config.stash[_selection_key]
    record = {
        **current_run().summary(selection),
        "environment": describe_environment(
            config.invocation_params.args, selection.profile, config.stash[_load_at_start_key]
        ),
        "workloads": {w.name: w.schema.to_json() for w in WORKLOADS if w.name in selection.workloads},
    }
    if selection.interpreters:
        record["interpreters"] = [i.to_json() for i in selection.interpreters]
    if _placement_key in config.stash:
        record["placement"] = config.stash[_placement_key]
    output_json[run_format.SECTION] = run_format.run_record(record)


_storage_lock: StorageLock | None = None


def _hold_storage_lock(config: pytest.Config) -> None:
    global _storage_lock
    folder = storage_folder(config.getoption("benchmark_storage", None))
    if folder is not None:
        _storage_lock = StorageLock(folder)
        _storage_lock.acquire()


def _release_storage_lock() -> None:
    global _storage_lock
    if _storage_lock is not None:
        _storage_lock.release()
        _storage_lock = None


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _release_storage_lock()
    if not session.config.getoption("--no-report"):
        report_after_session(session.config)
    leaked = [name for name in FORBIDDEN_IN_PYTEST_PROCESS if name in sys.modules]
    if leaked:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        sys.stderr.write(f"\ncorobench: the pytest process imported {', '.join(leaked)}; models must stay in workers\n")
