"""The collector regime as an axis: which cells run under which regime, how a worker applies it, bad input.

- ``cells_for``: the default profile adds ``frozen`` beside ``auto`` at sleep_fanout's largest N only; ``full``
  runs every regime on both fan-out workloads; ``quick`` and the other workloads run ``auto``; ``--gc``
  overrides all of that. A regime other than ``auto`` names itself in the group and id, and the worker's
  environment carries it.
- A worker under ``frozen`` has frozen its imported heap before the first window (objects counted), keeps
  automatic collection on, and records the regime, thresholds and design; under ``auto`` nothing is frozen.
- ``--gc`` with an unknown name and a hand-set ``COROBENCH_GC`` are one-line usage errors.
"""

from __future__ import annotations

import gc

import pytest

from benchmarks.harness.cells import cells_for
from benchmarks.harness.selection import SelectionError, parse_selection
from benchmarks.harness.settings import SettingError, check_settings
from benchmarks.harness.worker_client import WorkerClient
from tests.session_runner import run_benchmarks
from workloads.models.registry import lookup
from workloads.runtime import collector
from workloads.runtime.collector import GC_ENV


def regimes_by_n(workload: str, profile: str, gc_regimes: tuple[str, ...] | None = None) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    default = lookup("asyncio").variants_of(workload)[0]
    for cell in cells_for(workload, ["asyncio"], profile, gc_regimes=gc_regimes):
        if cell.variant in (None, default):
            found.setdefault(cell.params["n"], []).append(cell.gc_regime)
    return {n: sorted(set(r)) for n, r in found.items()}


def test_each_profile_runs_the_regimes_its_fan_out_workloads_ask_for() -> None:
    assert regimes_by_n("sleep_fanout", "default") == {1000: ["auto"], 10_000: ["auto", "frozen"]}
    assert regimes_by_n("sleep_fanout", "quick") == {1000: ["auto"]}
    assert set(map(tuple, regimes_by_n("sleep_fanout", "full").values())) == {("auto", "frozen", "off")}
    assert set(map(tuple, regimes_by_n("timeout_cancel", "full").values())) == {("auto", "frozen", "off")}
    assert set(map(tuple, regimes_by_n("timeout_cancel", "default").values())) == {("auto",)}
    assert {c.gc_regime for c in cells_for("cpu_mixed", ["asyncio"], "default")} == {"auto"}
    assert regimes_by_n("sleep_fanout", "quick", ("off", "frozen")) == {1000: ["frozen", "off"]}


def test_a_regime_names_itself_in_the_group_the_id_and_the_worker_environment() -> None:
    auto, frozen = (
        cells_for("sleep_fanout", ["gevent"], "quick", gc_regimes=(name,))[0] for name in ("auto", "frozen")
    )
    assert auto.group == "sleep_fanout[n=1000,delay=0.01]" and "gc=" not in auto.id
    assert frozen.group == "sleep_fanout[n=1000,delay=0.01,gc=frozen]"
    assert frozen.id == "gevent.defaults-n=1000-delay=0.01-gc=frozen"
    assert auto.worker_env[GC_ENV] == "auto" and frozen.worker_env[GC_ENV] == "frozen"


def test_bad_regime_input_is_one_line() -> None:
    with pytest.raises(SelectionError, match=r"--gc: unknown 'frozn'; valid: auto, frozen, off"):
        parse_selection("asyncio", "sleep_fanout", "quick", "auto,frozn")
    with pytest.raises(SettingError, match=r"COROBENCH_GC='off'.*--gc"):
        check_settings({GC_ENV: "off"})
    with pytest.raises(ValueError, match="COROBENCH_GC"):
        collector.regime({GC_ENV: "sometimes"})
    assert collector.regime({GC_ENV: "on"}) == "auto"  # the name the switch had before regimes


def test_a_bad_gc_option_stops_the_session_with_a_usage_line() -> None:
    session = run_benchmarks("--models=asyncio", "--workloads=sleep_fanout", "--gc=never", "--benchmark-disable")
    assert session.returncode == 4, session.output
    assert "--gc: unknown 'never'" in session.output


@pytest.mark.parametrize("regime", ["auto", "frozen"])
def test_a_frozen_worker_froze_its_heap_before_the_first_window(regime: str) -> None:
    with WorkerClient("twisted", env={GC_ENV: regime}) as worker:
        metrics = worker.run_round("sleep_fanout", {"n": 2000, "delay": 0.001}, timeout_s=60)["metrics"]
    assert metrics["gc_regime"] == regime
    assert metrics["gc_automatic"] is True
    assert metrics["gc_thresholds"] == list(gc.get_threshold())  # the same interpreter as this process
    assert metrics["gc_design"] == collector.design()
    if regime == "frozen":
        assert metrics["gc_frozen_objects"] > 10_000  # twisted's import heap, at least
    else:
        assert metrics["gc_frozen_objects"] == 0
