"""Run ``pytest benchmarks`` in a subprocess for the tests that check whole sessions."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Session:
    returncode: int
    output: str
    tag: str


def run_benchmarks(*args: str, env: dict[str, str] | None = None, timeout_s: float = 600) -> Session:
    """Run the benchmark suite with ``args``; every process it starts carries a unique tag."""
    tag = f"corobench-test-{uuid.uuid4().hex}"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "benchmarks", "-q", "-p", "no:cacheprovider", *args],
        cwd=REPO_ROOT,
        env={**os.environ, **(env or {}), "COROBENCH_TEST_TAG": tag},
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
    return Session(result.returncode, result.stdout + result.stderr, tag)


def processes_tagged(tag: str) -> list[int]:
    """Pids of live processes whose environment carries ``tag``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if f"COROBENCH_TEST_TAG={tag}".encode() in environ.split(b"\0"):
            found.append(int(entry.name))
    return found
