"""Write the report at the end of a benchmark session that saved results; never fail the session.

``plugin.py`` calls ``report_after_session(config)`` from a ``trylast`` ``pytest_sessionfinish``.
pytest-benchmark saves earlier in the same hook (its ``pytest_sessionfinish`` wrapper saves before
yielding). The saved file is found from pytest-benchmark's public options only: ``--benchmark-json
PATH`` names it; with ``--benchmark-save NAME`` or ``--benchmark-autosave`` the file storage of
``--benchmark-storage`` (``file://`` URIs) holds ``<machine id>/NNNN_<name>.json``, the highest NNNN
written during this session. Files older than the import of this module (the session's start) are
never taken for this session's. Nothing is done when benchmarks were disabled or nothing was saved.
The report goes to ``<rootdir>/reports/out/<run-stem>/``; its path (or one line saying why it failed
and where the results are) is printed after pytest-benchmark's table, through a small plugin
registered for ``pytest_terminal_summary`` (``pytest_unconfigure`` as a fallback). The report
modules (and matplotlib) are imported only when there is something to report.
"""

from __future__ import annotations

import glob
import sys
import time
from pathlib import Path
from typing import Any

import pytest

SESSION_START = time.time() - 1.0
"""When this module was imported, at the start of the session (1 s early: file times are coarse)."""


def report_after_session(config: Any) -> None:
    """Called by conftest.py after pytest-benchmark has saved the session's results."""
    try:
        saved = saved_results(config)
    except Exception as exc:  # the hook must never break the test session
        _announce(config, f"corobench: no report; could not tell where the results were saved ({exc})")
        return
    if saved is None:
        return
    try:
        from reports.build import default_out, write_report
        from reports.read.run import load_run

        run = load_run(saved)
        index = write_report([run], default_out(Path(config.rootpath), [run]))
        message = f"corobench report: {index}"
    except Exception as exc:  # rendering problems are reported, never raised
        message = (
            f"corobench: the report could not be written ({type(exc).__name__}: {exc}); "
            f"the results are safe in {saved} (retry: python -m reports {saved})"
        )
    _announce(config, message)


def saved_results(config: Any) -> Path | None:
    """The JSON file this session's benchmarks were saved to, or None when nothing was saved."""
    if config.getoption("benchmark_disable"):
        return None
    save = config.getoption("benchmark_save")
    name = glob.escape(save) if save else "*" if config.getoption("benchmark_autosave") else None
    storage = str(config.getoption("benchmark_storage") or "")
    if name and storage.startswith("file://"):
        folder = Path(config.invocation_params.dir) / storage.removeprefix("file://")
        files = sorted(
            (p for p in folder.glob(f"*/[0-9][0-9][0-9][0-9]_{name}.json") if _written_in_this_session(p)),
            key=lambda p: p.name,
        )
        if files:
            return files[-1]
    json_path = config.getoption("benchmark_json")
    if json_path is not None and _written_in_this_session(Path(json_path)):
        return Path(json_path)
    return None


def _written_in_this_session(path: Path) -> bool:
    try:
        return path.is_file() and path.stat().st_mtime >= SESSION_START
    except OSError:
        return False


class _LateMessage:
    """Prints one line after pytest-benchmark's results table (or at unconfigure if there was no summary)."""

    def __init__(self, message: str) -> None:
        self.message = message
        self.shown = False

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        terminalreporter.write_line(self.message)
        self.shown = True

    def pytest_unconfigure(self, config: Any) -> None:
        if not self.shown:
            print(self.message, file=sys.stderr)


def _announce(config: Any, message: str) -> None:
    try:
        if config.pluginmanager.get_plugin("terminalreporter") is not None:
            config.pluginmanager.register(_LateMessage(message))
            return
    except Exception:
        pass
    print(message, file=sys.stderr)
