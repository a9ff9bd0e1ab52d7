"""What to measure: the cells (model x variant x workload x parameters) of each profile.

Every workload definition in ``workloads.interface.WORKLOADS`` gives its grid and its rounds per
profile; every model gives the variants it offers for that workload (default first). A cell's
``group`` names the workload and its parameters, e.g. ``sleep_fanout[n=10000,delay=0.01]``, so
pytest-benchmark groups the models that did identical work side by side.

With ``--python`` every cell also names its interpreter: the group gains ``python=SPEC``
(``sleep_fanout[n=10000,delay=0.01,python=3.13]``), so a group still compares models on one
interpreter, and the id gains it too. The interpreter varies fastest, so the cells of one model
run back to back on each interpreter and machine drift cancels in cross-interpreter ratios.

The collector's regime (``workloads.runtime.collector``: ``auto``, ``frozen``, ``off``) is an axis the same
way: each workload says which regimes its cells run under per profile (``Workload.gc_regimes``), and
``--gc`` overrides that for every cell. A regime other than ``auto`` adds ``gc=REGIME`` to the group and
the id (``sleep_fanout[n=10000,delay=0.01,gc=frozen]``), so ``auto`` cells keep the ids they always had,
and the worker is told through ``COROBENCH_GC``. Regimes vary fastest, after the interpreter.
"""

from __future__ import annotations

import os
import resource
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from benchmarks.harness import peer_host
from benchmarks.harness.environments import PreparedInterpreter
from benchmarks.harness.process_stats import split_cores
from workloads.interface import BY_NAME, WORKLOADS
from workloads.models.registry import DEFAULT_VARIANT, lookup
from workloads.runtime.collector import AUTO, GC_ENV, REGIMES
from workloads.runtime.cores import cores_env
from workloads.specs.echo_data import BIND_ENV
from workloads.specs.schema import PROFILES, Plan

__all__ = ["PROFILES", "WORKLOAD_NAMES", "Cell", "cells_for"]

WORKLOAD_NAMES = tuple(w.name for w in WORKLOADS)
FILES_MARGIN = 64
"""Open files a helper process needs besides its connections (pipes, logs, the interpreter's own)."""
MAX_TASKS = {"threads": 20_000}
DEFAULT_PROFILE_MAX_TASKS = {"threads": 1000}
"""The default profile stops thread-per-task at N=1000: 10 000 OS threads cost a minute of the budget
(two cells of ~30 s) to show what N=1000 already shows (several times asyncio's cost); full runs them."""
"""Largest N a model is run at, with the reason stated when a cell is skipped."""


def open_files_hard_limit() -> int:
    """Children raise their soft open-files limit to this (workloads.runtime.serve.raise_open_files_limit)."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    return sys.maxsize if hard == resource.RLIM_INFINITY else hard


@dataclass(frozen=True)
class Cell:
    model: str
    workload: str
    params: dict[str, Any] = field(hash=False)
    plan: Plan
    timeout_s: float
    variant: str | None = None
    """Which of the model's implementations, where it offers several for this workload."""
    interpreter: PreparedInterpreter | None = None
    """The ``--python`` interpreter the worker runs under; None without ``--python`` (the pytest process's)."""
    profile: str = ""
    """The profile the cell belongs to (some limits differ by profile)."""
    gc_regime: str = AUTO
    """The collector regime the worker runs its rounds (or its server) under."""

    @property
    def group(self) -> str:
        return f"{self.workload}[{self._params_and_interpreter()}]"

    @property
    def label(self) -> str:
        # The default variant keeps the model's bare name, so adding a variant leaves the existing ids alone.
        return f"{self.model}.{self.variant}" if self.variant and self.variant != DEFAULT_VARIANT else self.model

    @property
    def id(self) -> str:
        return f"{self.label}-{self._params_and_interpreter().replace(',', '-')}"

    @property
    def python_version(self) -> tuple[int, ...]:
        """The version of the Python the worker will run."""
        return self.interpreter.interpreter.version_info if self.interpreter else tuple(sys.version_info[:3])

    def _params_and_interpreter(self) -> str:
        text = _format_params(self.params)
        if self.interpreter:
            text += f",python={self.interpreter.spec}"
        return text if self.gc_regime == AUTO else f"{text},gc={self.gc_regime}"

    @property
    def cores(self) -> set[int]:
        """The cores the cell's worker is given: on a pinned workload every core but its peer's; every core
        when its peer runs on another host (``--peer-host``)."""
        remote = peer_host.remote_peer_for(self.workload) is not None
        split = split_cores() if BY_NAME[self.workload].pinned and not remote else None
        return split[0] if split else set(os.sched_getaffinity(0))

    @property
    def worker_env(self) -> dict[str, str]:
        """Environment the cell's worker starts with: the cores it is given, its variant's settings, and the
        address its server binds when the peers are on another host."""
        remote = peer_host.remote_peer_for(self.workload)
        return {
            **cores_env(self.cores),
            **({BIND_ENV: remote.bind} if remote else {}),
            GC_ENV: self.gc_regime,
            **lookup(self.model).variant_env.get(self.variant or "", {}),
        }

    @property
    def skip_reason(self) -> str | None:
        model, reused = lookup(self.model), BY_NAME[self.workload].variant_workload
        cannot = model.reason_cannot(self.workload) or model.reason_cannot(reused)
        if cannot:
            return f"{self.model} cannot do {self.workload}: {cannot}"
        too_old = model.reason_too_old(self.python_version, self.variant)
        if too_old:
            return too_old
        if self.interpreter is not None and (missing := self.interpreter.missing_for(model.distributions)):
            return f"{self.model} cannot run under --python={self.interpreter.spec}: {'; '.join(missing)}"
        connections = self.params.get("connections")
        if isinstance(connections, int) and connections + FILES_MARGIN > open_files_hard_limit():
            return (
                f"{connections} connections need about {connections + FILES_MARGIN} open files per process; "
                f"this machine's hard limit is {open_files_hard_limit()} (raise it with ulimit -Hn as root)"
            )
        limit = MAX_TASKS.get(self.model)
        n = self.params.get("n")
        if limit is not None and isinstance(n, int) and n > limit:
            return (
                f"{self.model} runs one OS thread per task; {n} threads exceed the suite's "
                f"limit of {limit} (each needs a kernel thread and a stack; the kernel's "
                "threads-max and the memory of a 2-core CI machine are the bound)"
            )
        budget = DEFAULT_PROFILE_MAX_TASKS.get(self.model)
        if self.profile == "default" and budget is not None and isinstance(n, int) and n > budget:
            return (
                f"the default profile runs {self.model} up to N={budget} (one OS thread per task: N={n} costs "
                "about 30 s a cell and shows what N=1000 shows); --profile=full runs it"
            )
        return None


def cells_for(
    workload: str,
    models: list[str],
    profile: str,
    interpreters: list[PreparedInterpreter] | None = None,
    gc_regimes: tuple[str, ...] | None = None,
    model_interpreters: Mapping[str, PreparedInterpreter] | None = None,
) -> list[Cell]:
    """Every cell of one workload: parameters in grid order, then models, their variants, the interpreters,
    the collector regimes (``gc_regimes`` from ``--gc``, else the workload's own choice for the profile).

    Without ``--python``, a model in ``model_interpreters`` (named in ``--models`` but too new for the pytest
    process's Python) runs under the newer interpreter found for it, and its cells name it.

    A workload that reuses another's model functions (``variants_from``) gets that workload's variants.
    """
    definition = BY_NAME[workload]
    cells = []
    offered_for = definition.variant_workload
    for params in definition.grid(profile):
        for model in models:
            variants = lookup(model).variants_of(offered_for)
            for variant in lookup(model).variants_in(offered_for, profile):
                if not lookup(model).runs_at(variant, params):
                    continue
                reused_elsewhere = workload != offered_for
                if reused_elsewhere and profile not in lookup(model).profiles_of(workload, variant, profile):
                    continue  # a (workload, variant) entry of this workload's own keeps the variant to fewer profiles
                if not definition.measures_variant(profile, params, default=variant == variants[0]):
                    continue
                targets: list[PreparedInterpreter | None] = (
                    list(interpreters) if interpreters else [(model_interpreters or {}).get(model)]
                )
                for interpreter in targets:
                    chosen = definition.gc_regimes(profile, params)
                    for regime in gc_regimes or _sampled(chosen, model, default=variant == variants[0]):
                        cells.append(
                            Cell(
                                model=model,
                                workload=workload,
                                params=dict(params),
                                plan=definition.plan(profile),
                                timeout_s=definition.timeout_s(params),
                                variant=None if variants == (DEFAULT_VARIANT,) else variant,
                                interpreter=interpreter,
                                profile=profile,
                                gc_regime=regime,
                            )
                        )
    return cells


def _sampled(regimes: tuple[str, ...], model: str, *, default: bool) -> tuple[str, ...]:
    """A workload's regimes for one model's variant: outside ``full`` (which asks for every regime at every cell),
    the regimes beyond ``auto`` are a sample of each production model's default variant, which is what an order
    between models is read from; reference schedulers and second variants stay under ``auto``."""
    if regimes == (AUTO,) or set(regimes) == set(REGIMES):
        return regimes
    return regimes if default and not lookup(model).reference else (AUTO,)


def _format_params(params: dict[str, Any]) -> str:
    return ",".join(f"{key}={value}" for key, value in params.items())
