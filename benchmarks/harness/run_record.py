"""What a benchmark session records about itself: complete or interrupted, which cells failed or were skipped.

Saved with the results (under ``"corobench"`` in pytest-benchmark's JSON), so
a run cut short by Ctrl-C or SIGTERM keeps what it measured and says it is
partial, and a failed cell's one-line cause travels with the numbers.

SIGTERM is turned into ``KeyboardInterrupt`` in the pytest process, so it
takes the same path as Ctrl-C: the running test stops, its worker processes
are killed by their fixtures, pytest-benchmark saves what completed.
"""

from __future__ import annotations

import signal
import threading
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

import pytest


@dataclass
class RunRecord:
    interrupted_by: str | None = None
    failures: list[dict[str, str]] = field(default_factory=list)
    skips: list[dict[str, str]] = field(default_factory=list)

    def record(self, report: pytest.TestReport) -> None:
        if report.failed:
            self.failures.append({"test": report.nodeid, "when": report.when, "cause": one_line_cause(report)})
        elif report.skipped and isinstance(report.longrepr, tuple):
            self.skips.append({"test": report.nodeid, "reason": report.longrepr[2].removeprefix("Skipped: ")})

    def summary(self, selection: Any) -> dict[str, Any]:
        return {
            "partial": self.interrupted_by is not None,
            "interrupted_by": self.interrupted_by,
            "profile": selection.profile,
            "models": selection.models,
            "workloads": selection.workloads,
            "failed_cells": self.failures,
            "skipped_cells": self.skips,
        }


_current = RunRecord()


def start_run() -> RunRecord:
    global _current
    _current = RunRecord()
    return _current


def current_run() -> RunRecord:
    return _current


def one_line_cause(report: pytest.TestReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    text = getattr(crash, "message", None) or str(report.longrepr)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0][:300] if lines else "unknown failure"


def _sigterm_as_interrupt(signum: int, frame: FrameType | None) -> None:
    current_run().interrupted_by = "SIGTERM"
    raise KeyboardInterrupt("SIGTERM")


def stop_on_sigterm() -> None:
    """Make SIGTERM stop the session like Ctrl-C does (only possible from the main thread)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
