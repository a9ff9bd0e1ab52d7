"""Noise between processes: which cells are measured again in fresh workers, and what they save."""

from __future__ import annotations

import dataclasses

from benchmarks.harness.between_processes import (
    DEFAULT_SAMPLE,
    EXTRA_PROCESSES,
    extra_processes,
    measure_between_processes,
)
from benchmarks.harness.cells import cells_for


def test_the_default_profile_repeats_the_heaviest_cell_of_the_sampled_models_only() -> None:
    cells = cells_for("sleep_fanout", ["asyncio", "trio"], "default")
    repeated = {(c.model, c.variant, c.params["n"]) for c in cells if extra_processes(c)}
    assert repeated == {("asyncio", "default", 10_000)}
    assert "trio" not in DEFAULT_SAMPLE["sleep_fanout"]


def test_quick_repeats_nothing_and_full_repeats_every_cell() -> None:
    assert not any(extra_processes(c) for c in cells_for("sleep_fanout", ["asyncio"], "quick"))
    assert all(extra_processes(c) == EXTRA_PROCESSES["full"] for c in cells_for("ping_pong", ["trio"], "full"))


def test_fresh_workers_measure_the_cell_again_and_the_spread_is_saved() -> None:
    (cell,) = [c for c in cells_for("ping_pong", ["asyncio"], "quick")]
    cell = dataclasses.replace(cell, profile="full")
    saved = measure_between_processes(cell, 0.01)["between_processes"]
    medians = saved["process_medians_s"]
    assert len(medians) == 1 + EXTRA_PROCESSES["full"] and medians[0] == 0.01
    assert all(m > 0 for m in medians)
    assert saved["spread"] == (max(medians) - min(medians)) / sorted(medians)[1]
