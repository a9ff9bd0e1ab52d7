"""Parse and check the suite's own command-line options.

``--models``, ``--workloads``, ``--profile`` and ``--gc`` take names; an unknown name is
a usage error that lists the valid ones, and a model whose library is not
installed is named with the missing distribution rather than skipped quietly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from benchmarks.harness.cells import PROFILES, WORKLOAD_NAMES, Cell, cells_for
from benchmarks.harness.environments import PreparedInterpreter
from workloads.models.registry import MODELS, extra_models, installed_models
from workloads.runtime.collector import REGIMES


class SelectionError(ValueError):
    """The options name something that does not exist or cannot run here."""


@dataclass(frozen=True)
class Selection:
    models: list[str]
    workloads: list[str]
    profile: str
    interpreters: list[PreparedInterpreter] | None = None
    """The ``--python`` interpreters with their environments (None: the workers run the pytest process's)."""
    gc_regimes: tuple[str, ...] | None = None
    """The ``--gc`` regimes every cell runs under (None: each workload's own choice for the profile)."""
    model_interpreters: Mapping[str, PreparedInterpreter] = field(default_factory=dict)
    """Without ``--python``: models named in ``--models`` that need a newer Python than pytest's, each with the
    newer interpreter found for it (``interpreters.newer_for``)."""

    def cells(self, workload: str) -> list[Cell]:
        if workload not in self.workloads:
            return []
        return cells_for(
            workload, self.models, self.profile, self.interpreters, self.gc_regimes, self.model_interpreters
        )


def parse_selection(
    models: str | None, workloads: str | None, profile: str, gc_regimes: str | None = None
) -> Selection:
    return Selection(
        models=_parse_models(models),
        workloads=_parse_names("--workloads", workloads, WORKLOAD_NAMES),
        profile=_parse_names("--profile", profile, PROFILES, single=True)[0],
        gc_regimes=None if gc_regimes is None else tuple(_parse_names("--gc", gc_regimes, REGIMES)),
    )


def _parse_models(value: str | None) -> list[str]:
    if value is None:
        return installed_models()
    valid = {**MODELS, **extra_models()}  # test-only models when COROBENCH_EXTRA_MODELS names them
    names = _parse_names("--models", value, tuple(valid))
    for name in names:
        missing = valid[name].missing_distributions()
        if missing:
            raise SelectionError(
                f"--models: {name} needs {', '.join(missing)}, which is not installed (pip install {' '.join(missing)})"
            )
    return names


def _parse_names(option: str, value: str | None, valid: tuple[str, ...], single: bool = False) -> list[str]:
    if value is None:
        return list(valid)
    names = [part.strip() for part in value.split(",") if part.strip()]
    if not names:
        raise SelectionError(f"{option} needs at least one name; valid: {', '.join(valid)}")
    if single and len(names) != 1:
        raise SelectionError(f"{option} takes one name; valid: {', '.join(valid)}")
    unknown = [name for name in names if name not in valid]
    if unknown:
        raise SelectionError(f"{option}: unknown {', '.join(map(repr, unknown))}; valid: {', '.join(valid)}")
    return list(dict.fromkeys(names))
