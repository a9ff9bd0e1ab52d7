"""A model named in ``--models`` that pytest's Python is too old for runs under a newer interpreter, not skipped.

``interpreters_asyncio`` needs 3.12+; on 3.11, ``pytest benchmarks --models=interpreters_asyncio`` finds the
newest Python 3 on the machine (``interpreters.newer_for``) and only that model's cells name it.
"""

from __future__ import annotations

import dataclasses
import sys

from benchmarks.harness.cells import cells_for
from benchmarks.harness.environments import PreparedInterpreter
from benchmarks.harness.interpreters import newer_for, probe


def test_only_the_named_models_cells_run_under_the_newer_interpreter() -> None:
    running = probe(sys.executable)
    assert not isinstance(running, str), running
    newer = PreparedInterpreter(dataclasses.replace(running, spec="3.99"), python=sys.executable)
    cells = cells_for("tcp_echo", ["asyncio", "multiprocess_asyncio"], "quick", model_interpreters={"asyncio": newer})
    assert cells
    for cell in cells:
        if cell.model == "asyncio":
            assert cell.interpreter is newer and "python=3.99" in cell.id
        else:
            assert cell.interpreter is None and "python=" not in cell.id


def test_no_interpreter_is_found_for_a_version_that_does_not_exist() -> None:
    assert newer_for((3, 99)) is None


def test_the_running_interpreter_is_found_when_it_is_new_enough() -> None:
    found = newer_for(tuple(sys.version_info[:2]))  # type: ignore[arg-type]
    assert found is not None and found.version_info[:2] >= tuple(sys.version_info[:2])
