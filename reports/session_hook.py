"""Write the report at the end of a benchmark session that saved results; never fail the session.

conftest.py calls ``report_after_session(config)`` from a ``trylast`` ``pytest_sessionfinish``.
pytest-benchmark saves earlier in the same hook: its ``pytest_sessionfinish`` is a hookwrapper that
calls ``BenchmarkSession.finish()`` -> ``handle_saving()`` before yielding. What was saved is read
back from ``config._benchmarksession`` (pytest_benchmark/session.py): with ``--benchmark-save`` or
``--benchmark-autosave`` the file storage wrote ``<storage.path>/<machine id>/NNNN_<name>.json``
(the highest NNNN carrying that name); with ``--benchmark-json`` the path is the ``name`` of the
file object in ``.json``. Nothing is done when benchmarks were disabled, none ran, or nothing was
saved. The report goes to ``<rootdir>/reports/out/<run-stem>/``; its path (or one line saying why
it failed and where the results are) is printed after pytest-benchmark's table, through a small
plugin registered for ``pytest_terminal_summary`` (``pytest_unconfigure`` as a fallback). The
report modules (and matplotlib) are imported only when there is something to report.
"""

from __future__ import annotations

import glob
import sys
from pathlib import Path
from typing import Any

import pytest


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
        from reports.load import load_run

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
    session = getattr(config, "_benchmarksession", None)
    if session is None or session.disabled or not session.benchmarks:
        return None
    name = session.save or session.autosave
    storage = session.storage
    if name and hasattr(storage, "path"):
        folder = Path(storage.path)
        if storage.default_machine_id:
            folder = folder / storage.default_machine_id
        files = sorted(folder.glob(f"[0-9][0-9][0-9][0-9]_{glob.escape(name)}.json"))
        if files:
            return files[-1]
    json_path = getattr(session.json, "name", None)
    if isinstance(json_path, str) and Path(json_path).is_file():
        return Path(json_path)
    return None


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
