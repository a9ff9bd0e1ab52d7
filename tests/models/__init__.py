"""Test-only models: never benchmarked; enabled with ``COROBENCH_EXTRA_MODELS=tests.models``."""

from __future__ import annotations

from workloads.models.registry import Model

MODELS: dict[str, Model] = {
    "faulty": Model(
        "faulty", "test", (), "test-only model that misbehaves on command", module_path="tests.models.faulty_model"
    ),
    "latency_probe": Model(
        "latency_probe",
        "test",
        (),
        "test-only echo servers of known latency: a fixed service time (M/D/1) and a periodic stall",
        variants={"tcp_echo": ("fixed_delay", "stalls")},
        module_path="tests.models.latency_model",
    ),
}
