"""Isolation: patched workers are really patched, and the pytest process never loads model libraries."""

from __future__ import annotations

import subprocess
import sys

import pytest

from benchmarks.harness.worker_client import WorkerClient
from tests.session_runner import REPO_ROOT, run_benchmarks
from workloads.models.registry import MODELS

SLEEPS, SLEEP_S = 200, 0.05


@pytest.mark.parametrize("model", ["gevent", "eventlet"])
def test_patched_workers_sleep_concurrently(model: str) -> None:
    """200 stdlib time.sleep(0.05) calls take 10 s one after another; patched, they overlap."""
    with WorkerClient(model) as worker:
        reply = worker.run_round("sleep_fanout", {"n": SLEEPS, "delay": SLEEP_S}, timeout_s=60)
    elapsed = reply["quanta"] / 2**32
    assert elapsed < SLEEPS * SLEEP_S / 10, f"{model}: {elapsed:.2f} s for {SLEEPS} sleeps: time.sleep is not green"


@pytest.mark.parametrize("model", ["gevent", "eventlet"])
def test_patched_models_refuse_to_run_unpatched(model: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", f"import {MODELS[model].module}"], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "RuntimeError" in result.stderr and "patch" in result.stderr


def test_the_session_fails_if_the_pytest_process_imports_a_model_library() -> None:
    """The end-of-session guard is real: a plugin that imports gevent into pytest makes the run fail."""
    session = run_benchmarks(
        "--models=asyncio", "--workloads=sleep_fanout", "--profile=quick", "--benchmark-disable", "-p", "gevent"
    )
    assert session.returncode == 1, session.output
    assert "the pytest process imported gevent; models must stay in workers" in session.output


def test_this_test_process_has_not_imported_them_either() -> None:
    assert not {"gevent", "eventlet", "twisted.internet.reactor"} & set(sys.modules)
