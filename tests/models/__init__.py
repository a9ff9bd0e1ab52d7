"""Test-only models: never benchmarked; enabled with ``COROBENCH_EXTRA_MODELS=tests.models``."""

from __future__ import annotations

from workloads.models.registry import Model

MODELS: dict[str, Model] = {
    "faulty": Model(
        "faulty", "test", (), "test-only model that misbehaves on command", module_path="tests.models.faulty_model"
    ),
}
