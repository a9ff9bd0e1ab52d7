"""A round leaves nothing scheduled behind: no live timers, tasks, greenlets or threads.

A timer left behind by a cancelled task (tornado's ``gen.sleep`` cannot be cancelled: its timer
stays in the loop until it expires) makes the next round pay for the last one's garbage, so each
model's timeout_cancel and sleep_fanout rounds are probed: the worker asks the model's
``leftovers()`` hook right after the round (request field ``probe_leftovers``). A model that cannot
observe its own leftovers says why, and the case is skipped with that reason.
"""

from __future__ import annotations

import sys
from typing import Any

import pytest

from benchmarks.harness.worker_client import WorkerClient
from workloads.models.registry import MODELS, installed_models

PARAMS: dict[str, dict[str, Any]] = {
    "timeout_cancel": {"n": 300, "deadline": 0.05, "seed": 1},
    "sleep_fanout": {"n": 300, "delay": 0.005},
}
"""timeout_cancel: half the tasks sleep 2-4 deadlines, so their sleeps outlive the round unless cancelled."""

CASES = [
    (model, workload, variant)
    for model in installed_models()
    for workload in PARAMS
    for variant in MODELS[model].variants_of(workload)
    if not MODELS[model].reason_cannot(workload)
]


@pytest.mark.parametrize(("model", "workload", "variant"), CASES)
def test_a_round_leaves_nothing_scheduled(model: str, workload: str, variant: str) -> None:
    if too_old := MODELS[model].reason_too_old(tuple(sys.version_info[:3]), variant):
        pytest.skip(too_old)
    env = dict(MODELS[model].variant_env.get(variant, {}))
    request = {"op": "run", "workload": workload, "params": PARAMS[workload], "variant": variant}
    with WorkerClient(model, env=env) as worker:
        reply = worker.call({**request, "probe_leftovers": True}, 60, f"{workload} probe")
        plain = worker.call(request, 60, f"{workload} round")
    assert "leftovers" not in plain["metrics"], "a round that did not ask for the probe paid for it"
    leftovers = reply["metrics"]["leftovers"]
    if "unobservable" in leftovers:
        pytest.skip(f"{model} cannot observe its leftovers: {leftovers['unobservable']}")
    live = leftovers["live"]
    assert live, f"{model}'s leftovers() counted nothing at all"
    assert all(count == 0 for count in live.values()), f"{model} {workload} left behind {live}"
