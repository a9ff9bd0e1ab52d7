"""Ctrl-C or SIGTERM half-way through a real run: it stops quickly, keeps what it measured, leaves nothing.

Each test starts ``pytest benchmarks --benchmark-autosave`` into a private
storage folder, waits until at least one benchmark has passed and the next
one is running, then signals the pytest process as a terminal or a service
manager would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.session_runner import REPO_ROOT, processes_tagged

pytestmark = pytest.mark.timing  # CPU and clock readings: rerun under load by .ci/run

STOP_BOUND_S = 20.0


def default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_run(storage: Path, tag: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            "benchmarks",
            "-v",
            "-p",
            "no:cacheprovider",
            "--models=asyncio,threads",
            "--workloads=sleep_fanout",
            "--profile=default",
            "--benchmark-autosave",
            f"--benchmark-storage=file://{storage}",
            "--no-report",
        ],
        cwd=REPO_ROOT,
        env={**os.environ, "COROBENCH_TEST_TAG": tag},
        # As a terminal starts it: a shell running this suite in the background (CI, nohup) leaves SIGINT
        # ignored, which the child would inherit, and Python never raises KeyboardInterrupt for it then.
        preexec_fn=default_sigint,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for_passed_tests(run: subprocess.Popen[str], count: int) -> str:
    assert run.stdout is not None
    seen = []
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        line = run.stdout.readline()
        if not line:
            break
        seen.append(line)
        if sum("PASSED" in s for s in seen) >= count:
            return "".join(seen)
    pytest.fail("the run never got far enough to interrupt:\n" + "".join(seen))


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_an_interrupted_run_keeps_its_results_and_leaves_no_process(tmp_path: Path, signum: int) -> None:
    tag = f"corobench-test-{uuid.uuid4().hex}"
    run = start_run(tmp_path, tag)
    try:
        wait_for_passed_tests(run, 2)
        time.sleep(0.3)  # let the next test's worker start and get busy
        signalled = time.monotonic()
        run.send_signal(signum)
        output, _ = run.communicate(timeout=STOP_BOUND_S)
        stopped_after = time.monotonic() - signalled
    finally:
        if run.poll() is None:
            run.kill()
    assert stopped_after < STOP_BOUND_S
    assert processes_tagged(tag) == [], "a worker outlived the interrupted session"
    saved = list(tmp_path.glob("*/*.json"))
    assert len(saved) == 1, f"expected one saved run, found {saved}\n{output}"
    data = json.loads(saved[0].read_text())
    assert data["corobench"]["partial"] is True, f"the run was not marked interrupted:\n{output[-4000:]}"
    assert data["corobench"]["interrupted_by"] == ("SIGINT" if signum == signal.SIGINT else "SIGTERM")
    assert len(data["benchmarks"]) >= 2
    for bench in data["benchmarks"]:
        assert bench["stats"]["rounds"] >= 1
