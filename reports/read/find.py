"""Find saved runs: the ``.benchmarks/`` storage, the newest run, and run ids as pytest-benchmark names them.

pytest-benchmark's file storage saves ``.benchmarks/<machine-id>/NNNN_<name>.json`` where the machine id
is ``<system>-<implementation>-<major.minor>-<bits>`` (``pytest_benchmark.utils.get_machine_id``; it is
rebuilt here with ``platform`` so this module needs nothing but the stdlib). A run id is a path to a
JSON file, the ``NNNN`` counter, a file stem (or its prefix), or ``<machine-id>/<stem>``. This module
only reads and lists; it never writes into ``.benchmarks/``.
"""

from __future__ import annotations

import platform
import re
from pathlib import Path

from reports.read.run import ReportInputError

STORAGE_DIR = ".benchmarks"
RUN_FILE = re.compile(r"^\d{4}_.*\.json$")
NO_RUNS_HINT = "run `pytest benchmarks --benchmark-autosave` first"


def machine_id() -> str:
    """The sub-directory pytest-benchmark saves this machine's runs in."""
    return "-".join(
        (
            platform.system(),
            platform.python_implementation(),
            ".".join(platform.python_version_tuple()[:2]),
            platform.architecture()[0],
        )
    )


def find_storage(start: Path) -> Path | None:
    """The nearest ``.benchmarks`` directory in ``start`` or one of its parents."""
    for folder in (start, *start.parents):
        candidate = folder / STORAGE_DIR
        if candidate.is_dir():
            return candidate
    return None


def saved_runs(storage: Path) -> list[Path]:
    """Every autosaved/saved run file under the storage, oldest first within each machine directory."""
    files = [p for p in storage.glob("*/*.json") if RUN_FILE.match(p.name)]
    files += [p for p in storage.glob("*.json") if RUN_FILE.match(p.name)]
    return sorted(files, key=lambda p: (p.name, str(p.parent)))


def newest_run(start: Path) -> Path:
    """This machine's highest-numbered run, else the most recently written run of any machine."""
    storage = find_storage(start)
    if storage is None:
        raise ReportInputError(f"no saved runs: no {STORAGE_DIR}/ directory in {start} or its parents; {NO_RUNS_HINT}")
    runs = saved_runs(storage)
    if not runs:
        raise ReportInputError(f"no saved runs in {storage}; {NO_RUNS_HINT}")
    mine = [p for p in runs if p.parent.name == machine_id()]
    if mine:
        return mine[-1]
    return max(runs, key=lambda p: p.stat().st_mtime)


def resolve_run(arg: str, start: Path) -> Path:
    """The JSON file a command-line run argument names."""
    direct = Path(arg)
    if direct.is_file():
        return direct
    if arg.endswith(".json") or ("/" in arg and not _looks_like_machine_slash_stem(arg)):
        raise ReportInputError(f"{arg}: no such file")
    storage = find_storage(start)
    if storage is None:
        raise ReportInputError(
            f"{arg}: not a file, and no {STORAGE_DIR}/ directory to look the run id up in; {NO_RUNS_HINT}"
        )
    runs = saved_runs(storage)
    if not runs:
        raise ReportInputError(f"{arg}: no saved runs in {storage}; {NO_RUNS_HINT}")
    matches = _match(arg, runs)
    mine = [p for p in matches if p.parent.name == machine_id()]
    if len(matches) > 1 and len(mine) == 1:
        matches = mine
    if not matches:
        known = ", ".join(p.stem.split("_")[0] for p in runs[-10:])
        raise ReportInputError(f"{arg}: no saved run matches it in {storage} (latest run ids: {known})")
    if len(matches) > 1:
        names = ", ".join(f"{p.parent.name}/{p.stem}" for p in matches)
        raise ReportInputError(f"{arg}: ambiguous run id, it matches {names}")
    return matches[0]


def _looks_like_machine_slash_stem(arg: str) -> bool:
    return arg.count("/") == 1 and not arg.startswith(("/", "."))


def _match(arg: str, runs: list[Path]) -> list[Path]:
    machine, _, stem = arg.rpartition("/")
    candidates = [p for p in runs if not machine or p.parent.name == machine]
    if stem.isdigit() and len(stem) <= 4:
        prefix = f"{int(stem):04d}_"
        return [p for p in candidates if p.name.startswith(prefix)]
    exact = [p for p in candidates if p.stem == stem]
    return exact or [p for p in candidates if p.stem.startswith(stem)]


def is_inside_storage(path: Path) -> bool:
    """True when ``path`` lies in a ``.benchmarks`` directory (reports must never be written there)."""
    return STORAGE_DIR in path.resolve().parts
