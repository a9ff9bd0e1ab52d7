"""Workers and peers start in glibc's warm allocator state unless a cell asks for the cold one."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.harness.worker_client import WorkerClient
from workloads.runtime.allocator import STATE_ENV

REPO_ROOT = Path(__file__).resolve().parents[1]
GLIBC = platform.libc_ver()[0] == "glibc"
PROBE = """
import json
from workloads.runtime import allocator
before = allocator.state(), allocator.recv_cost_us(samples=500)
allocator.warm_up()
after = allocator.state(), allocator.recv_cost_us(samples=500)
print(json.dumps([before, after]))
"""


@pytest.mark.skipif(not GLIBC, reason="the mmap threshold is glibc's")
def test_a_fresh_process_is_cold_until_it_frees_one_large_block() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    (state_before, cost_before), (state_after, cost_after) = json.loads(out.stdout)
    assert (state_before, state_after) == ("cold", "warm")
    # Measured 12-20 us against ~2 us; the bound is generous so that a loaded machine cannot fail it.
    assert cost_after < 0.5 * cost_before


@pytest.mark.skipif(not GLIBC, reason="the mmap threshold is glibc's")
def test_workers_start_warm_and_the_cold_variant_stays_cold() -> None:
    with WorkerClient("asyncio") as warm, WorkerClient("asyncio", env={STATE_ENV: "cold"}) as cold:
        assert warm.hello["allocator_state"] == "warm"
        assert cold.hello["allocator_state"] == "cold"
        reply = cold.run_round("sleep_fanout", {"n": 10, "delay": 0.001}, timeout_s=60)
        assert reply["metrics"]["allocator_state"] == "cold"


def test_an_unknown_state_is_refused() -> None:
    with pytest.raises(Exception, match="COROBENCH_ALLOCATOR_STATE"):
        WorkerClient("asyncio", env={STATE_ENV: "lukewarm"}).close()
