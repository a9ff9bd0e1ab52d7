"""The list of concurrency models: one entry per ``workloads/model_<name>.py``.

Importing this module imports no concurrency library, so the pytest process can
read it to validate ``--models`` and decide which models are installed.
Adding a model means adding its module and one line to ``MODELS``.
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass


@dataclass(frozen=True)
class Model:
    """What the harness needs to know about a model without importing it."""

    name: str
    family: str
    """Report colour group: ``greenlet``, ``event_loop``, ``threads`` or ``processes``."""
    distributions: tuple[str, ...] = ()
    """PyPI distributions the model needs; their versions are recorded with results."""
    description: str = ""
    echo_variants: tuple[str, ...] = ("default",)
    """Server variants of ``tcp_echo`` (e.g. asyncio streams and protocols)."""
    cannot: tuple[tuple[str, str], ...] = ()
    """(workload, reason) pairs for workloads this model cannot honestly do; those cells are skipped with the reason."""

    def reason_cannot(self, workload: str) -> str | None:
        return dict(self.cannot).get(workload)

    @property
    def module(self) -> str:
        return f"workloads.model_{self.name}"

    def versions(self) -> dict[str, str]:
        """Installed versions of this model's distributions (missing ones left out)."""
        found = {}
        for dist in self.distributions:
            try:
                found[dist] = importlib.metadata.version(dist)
            except importlib.metadata.PackageNotFoundError:
                pass
        return found

    def missing_distributions(self) -> list[str]:
        """Distributions this model needs that are not installed (empty when runnable)."""
        return [dist for dist in self.distributions if dist not in self.versions()]


MODELS: dict[str, Model] = {
    m.name: m
    for m in (
        Model("greenlet", "greenlet", ("greenlet",), "raw greenlets on a small selectors hub"),
        Model("gevent", "greenlet", ("gevent", "greenlet"), "gevent, monkey-patched stdlib"),
        Model("eventlet", "greenlet", ("eventlet", "greenlet"), "eventlet, monkey-patched stdlib"),
        Model("tornado", "event_loop", ("tornado",), "tornado native coroutines"),
        Model("twisted", "event_loop", ("twisted",), "twisted Deferreds on the default reactor"),
        Model("asyncio", "event_loop", (), "asyncio on the default event loop", ("streams", "protocol")),
        Model("multiprocess_asyncio", "processes", (), "one asyncio process per core"),
        Model("threads", "threads", (), "one OS thread per task"),
        Model("trio", "event_loop", ("trio",), "trio nurseries and streams"),
        Model("generators", "event_loop", (), "plain generator coroutines on a scheduler of our own"),
        Model("uvloop", "event_loop", ("uvloop",), "asyncio code on uvloop's libuv loop", ("streams", "protocol")),
    )
}


def installed_models() -> list[str]:
    """Names of the models whose libraries are installed, in registry order."""
    return [name for name, model in MODELS.items() if not model.missing_distributions()]


TEST_MODELS: dict[str, Model] = {
    "faulty": Model("faulty", "test", (), "test-only model that misbehaves on command"),
}
"""Models that exist only for the harness's own tests; never run as benchmarks."""

ALL_MODELS: dict[str, Model] = {**MODELS, **TEST_MODELS}
