"""The suite's environment variables, checked once before a session runs anything.

Each ``COROBENCH_*`` setting is read where it acts (a peer's waiting, a generator's loop, a worker's
allocator state), often in a child process, where a bad value would fail every cell one by one with a
traceback. The session instead asks the same parsers up front and turns the first complaint into a
usage error: one line naming the variable, its value and what it accepts.

- ``COROBENCH_GENERATOR`` (``c``/``python``) and ``COROBENCH_GENERATOR_SLEEP`` (``1``/``0``): the peers'
  loops and waiting (``workloads.peers``);
- ``COROBENCH_ALLOCATOR_STATE`` (``warm``/``cold``): glibc's state in every helper
  (``workloads.runtime.allocator``);
- ``COROBENCH_EXTRA_MODELS``: a module with test-only models (``tests.models``);
- ``COROBENCH_CORES``, ``COROBENCH_GC`` and ``COROBENCH_BIND`` are the harness's own messages to each worker
  (the cores it gives the cell, the collector regime ``--gc`` chose, the address ``--bind`` names): set by hand
  they would be ignored or half-applied, so they are refused.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping

from workloads.models.registry import EXTRA_MODELS_ENV
from workloads.runtime import allocator
from workloads.runtime.collector import GC_ENV
from workloads.runtime.cores import CORES_ENV
from workloads.runtime.settings import GENERATOR_ENV, GENERATOR_IMPLS, GENERATOR_SLEEP_ENV, GENERATOR_SLEEP_VALUES
from workloads.specs.echo_data import BIND_ENV


class SettingError(ValueError):
    """A ``COROBENCH_*`` variable holds a value the suite cannot use."""


def check_settings(environ: Mapping[str, str] | None = None) -> None:
    """Raise ``SettingError`` (one line) for the first suite variable in ``environ`` that is unusable."""
    env = os.environ if environ is None else environ
    for check in CHECKS:
        problem = check(env)
        if problem:
            raise SettingError(problem)


def _generator(env: Mapping[str, str]) -> str | None:
    value = env.get(GENERATOR_ENV, "")
    if value and value not in GENERATOR_IMPLS:
        return (
            f"{GENERATOR_ENV}={value!r}: expected one of {', '.join(GENERATOR_IMPLS)} (or unset: C where it is built)"
        )
    return None


def _sleep(env: Mapping[str, str]) -> str | None:
    value = env.get(GENERATOR_SLEEP_ENV, "")
    if value not in GENERATOR_SLEEP_VALUES:
        return f"{GENERATOR_SLEEP_ENV}={value!r}: expected 1 (the peers sleep) or 0/unset (they spin)"
    return None


def _allocator(env: Mapping[str, str]) -> str | None:
    value = env.get(allocator.STATE_ENV, "")
    if value and value not in allocator.STATES:
        return f"{allocator.STATE_ENV}={value!r}: expected one of {', '.join(allocator.STATES)} (or unset: warm)"
    return None


def _extra_models(env: Mapping[str, str]) -> str | None:
    module = env.get(EXTRA_MODELS_ENV, "")
    if not module:
        return None
    try:
        found = importlib.import_module(module)
    except ImportError as exc:
        return f"{EXTRA_MODELS_ENV}={module!r}: cannot import it ({exc}); unset it, or name a module with MODELS"
    if not isinstance(getattr(found, "MODELS", None), dict):
        return f"{EXTRA_MODELS_ENV}={module!r}: the module has no MODELS dict of extra models"
    return None


def _cores(env: Mapping[str, str]) -> str | None:
    if CORES_ENV in env:
        return (
            f"{CORES_ENV}={env[CORES_ENV]!r}: the harness sets it for each worker (the cores it gives the cell); "
            "unset it (the cores are chosen from this process's affinity: use taskset to restrict them)"
        )
    return None


def _bind(env: Mapping[str, str]) -> str | None:
    if BIND_ENV in env:
        return f"{BIND_ENV}={env[BIND_ENV]!r}: the harness sets it from --bind (with --peer-host); unset it"
    return None


def _gc(env: Mapping[str, str]) -> str | None:
    if GC_ENV in env:
        return (
            f"{GC_ENV}={env[GC_ENV]!r}: the harness sets it for each worker from --gc; unset it and pass --gc instead"
        )
    return None


CHECKS: tuple[Callable[[Mapping[str, str]], str | None], ...] = (
    _generator,
    _sleep,
    _allocator,
    _extra_models,
    _cores,
    _gc,
    _bind,
)
