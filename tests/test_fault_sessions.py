"""A faulty cell in a real benchmark session fails with a one-line cause and the run goes on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.session_runner import processes_tagged, run_benchmarks


@pytest.mark.parametrize(
    ("fault", "cause"),
    [
        ("crash", "faulty worker exited during request sleep_fanout with exit status 3"),
        ("kill", "faulty worker exited during request sleep_fanout with signal SIGKILL"),
        ("wrong", "wrong_result: task results are not each index"),
    ],
)
def test_the_run_continues_past_a_faulty_cell(tmp_path: Path, fault: str, cause: str) -> None:
    out = tmp_path / "run.json"
    session = run_benchmarks(
        "--models=faulty,asyncio",
        "--workloads=sleep_fanout",
        "--profile=quick",
        f"--benchmark-json={out}",
        "--no-report",
        env={"COROBENCH_EXTRA_MODELS": "tests.models", "COROBENCH_FAULT": fault},
    )
    assert session.returncode == 1, session.output
    assert processes_tagged(session.tag) == []
    saved = json.loads(out.read_text())
    assert [b["extra_info"]["model"] for b in saved["benchmarks"]] == ["asyncio"]  # quick: one N
    failed = saved["corobench"]["failed_cells"]
    assert [f["test"].split("[")[1].split("-")[0] for f in failed] == ["faulty"]
    assert all(cause in f["cause"] and "\n" not in f["cause"] for f in failed)
    assert saved["corobench"]["partial"] is False


def test_test_models_are_not_benchmark_models_without_the_switch() -> None:
    session = run_benchmarks("--models=faulty", "--benchmark-disable")
    assert session.returncode == 4
    assert "--models: unknown 'faulty'" in session.output
