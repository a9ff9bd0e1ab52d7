"""The contract between the harness, the workloads and the models: one list, one interface.

``WORKLOADS`` is the one list of workload definitions (``workloads/specs/<name>.py``); the harness
builds cells from it and the worker runs rounds with it. ``ModelInterface`` is what a model module
must provide: one function per workload, each taking the variant name first (``"default"`` where
the model offers one implementation). mypy checks every model module against it
(``workloads/models/conformance.py``), so a missing or mistyped function is a type error.

Optional hooks a model may define (``ModelHooks``): ``prepare()``, fixed set-up done once before
the first round and outside every window (a process pool); ``setup_metrics()``, one-off costs
reported with every round (``pool_startup_s``) and the model's configuration (keys starting with
``config_``, which the harness saves with the cell); and ``leftovers()``, what is still scheduled
after a round (live timers, tasks, greenlets, threads), reported only when a request asks for it
(``"probe_leftovers": true``; tests/test_no_leftovers.py). A model that cannot see its own leftovers
defines ``LEFTOVERS_UNOBSERVABLE = "the reason"`` instead.

Adding a workload: its module under ``workloads/specs/``, its ``Implements`` protocol added to
``ModelInterface`` below, its ``WORKLOAD`` added to ``WORKLOADS``, and its function in every model.
A workload that drives an existing model function differently (``tcp_latency`` drives
``tcp_echo_server`` open-loop, ``http_latency`` ``http_server``) sets ``variants_from`` and needs no new function.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from workloads.specs import (
    cpu_mixed,
    http_latency,
    http_server,
    ping_pong,
    sleep_fanout,
    tcp_client,
    tcp_echo,
    tcp_latency,
    timeout_cancel,
)
from workloads.specs.base import Workload

WORKLOADS: tuple[Workload[Any], ...] = (
    sleep_fanout.WORKLOAD,
    tcp_echo.WORKLOAD,
    tcp_latency.WORKLOAD,
    http_server.WORKLOAD,
    http_latency.WORKLOAD,
    tcp_client.WORKLOAD,
    timeout_cancel.WORKLOAD,
    cpu_mixed.WORKLOAD,
    ping_pong.WORKLOAD,
)
BY_NAME: dict[str, Workload[Any]] = {w.name: w for w in WORKLOADS}


class ModelInterface(
    sleep_fanout.Implements,
    tcp_echo.Implements,
    http_server.Implements,
    tcp_client.Implements,
    timeout_cancel.Implements,
    cpu_mixed.Implements,
    ping_pong.Implements,
    Protocol,
):
    """Every workload function a production model implements."""


class ModelHooks(Protocol):
    def prepare(self) -> None: ...

    def setup_metrics(self) -> Mapping[str, object]: ...

    def leftovers(self) -> dict[str, int]: ...
