"""``--python``: resolving interpreters, their cached environments, and the models for the multi-core question.

Uses the interpreters this machine has (pyenv's 3.12 and 3.13 beside 3.11 on the suite's image);
tests that need one that is absent are skipped with the reason. The first run creates the 3.13
environment under ``.corobench/venvs/`` (it installs from PyPI and takes minutes); later runs
reuse it. No free-threaded build is available here, so the free-threaded paths (``3.13t``,
``sys._is_gil_enabled()`` returning False) are only exercised through their documented APIs,
not run.
"""

from __future__ import annotations

import copy
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks.harness import environments
from benchmarks.harness.cells import cells_for
from benchmarks.harness.environments import PreparedInterpreter, missing_requirements, prepare, requirements_hash
from benchmarks.harness.interpreters import Interpreter, InterpreterError, parse_interpreters, resolve
from benchmarks.harness.worker_client import WorkerClient
from reports.read.run import load_run
from reports.write.document import Document, to_markdown
from reports.write.interpreter_matrix import interpreter_blocks
from tests.session_runner import run_benchmarks

FIXTURES = Path(__file__).resolve().parent / "fixtures"
MAIN_SPEC = f"{sys.version_info.major}.{sys.version_info.minor}"


def found(spec: str) -> Interpreter:
    """The interpreter ``spec`` names on this machine, or skip the test saying it is absent."""
    try:
        return resolve(spec)
    except InterpreterError as exc:
        pytest.skip(f"Python {spec} is not installed here: {exc}")


@pytest.fixture(scope="module")
def py313() -> PreparedInterpreter:
    """3.13 with its cached environment (created on first use: minutes, from PyPI)."""
    return prepare(found("3.13"), say=print)


# -- resolving specs --------------------------------------------------------------


@pytest.mark.parametrize("spec", ["3.12", "3.13"])
def test_a_version_resolves_to_that_interpreter_not_a_shim(spec: str) -> None:
    interpreter = found(spec)
    assert f"{interpreter.version_info[0]}.{interpreter.version_info[1]}" == spec
    assert interpreter.implementation == "cpython" and interpreter.build == "default"
    assert os.path.isfile(interpreter.executable) and "shims" not in interpreter.executable
    assert not interpreter.is_main


def test_the_pytest_interpreter_is_the_main_environment() -> None:
    (interpreter,) = parse_interpreters(MAIN_SPEC) or []
    assert interpreter.is_main and interpreter.version_info[:2] == sys.version_info[:2]


def test_a_path_resolves_to_what_it_points_at() -> None:
    (interpreter,) = parse_interpreters(sys.executable) or []
    assert interpreter.spec == sys.executable and interpreter.is_main


@pytest.mark.parametrize(
    ("value", "complaint"),
    [
        ("3.99", "--python=3.99: no such interpreter; tried PATH python3.99: nothing; pyenv"),
        ("3.99t", "--python=3.99t: no such interpreter; tried PATH python3.99t"),
        ("/no/such/python", "--python=/no/such/python: no such interpreter; tried /no/such/python: no such file"),
        ("", "--python needs at least one version"),
        (f"{MAIN_SPEC},{sys.executable}", "are the same interpreter"),
    ],
)
def test_bad_specs_say_what_was_tried(value: str, complaint: str) -> None:
    with pytest.raises(InterpreterError) as error:
        parse_interpreters(value)
    assert complaint in str(error.value)


def test_an_interpreter_older_than_requires_python_is_refused_naming_it(tmp_path: Path) -> None:
    """A stand-in that answers the probe as CPython 3.8: refused, with what was found."""
    fake = tmp_path / "python3.8"
    answer = {
        "executable": str(fake),
        "version": "3.8.18",
        "version_info": [3, 8, 18],
        "implementation": "cpython",
        "free_threaded": False,
        "prefix": str(tmp_path),
    }
    fake.write_text(f"#!/bin/sh\necho '{json.dumps(answer)}'\n")
    fake.chmod(0o755)
    with pytest.raises(InterpreterError) as error:
        resolve(str(fake))
    assert f"found CPython 3.8.18 at {fake}, but corobench needs Python 3.11 or newer" in str(error.value)


def test_a_bad_spec_is_a_usage_error_of_the_session() -> None:
    session = run_benchmarks("--python=3.99", "--benchmark-disable", timeout_s=120)
    assert session.returncode == 4, session.output
    assert "--python=3.99: no such interpreter" in session.output


# -- environments -----------------------------------------------------------------


def test_the_requirement_set_is_pyprojects_and_its_hash_follows_it() -> None:
    interpreter = found(MAIN_SPEC)
    requirements = environments.requirement_set()
    assert any(r.startswith("gevent") for r in requirements)
    assert any(r.startswith("interpreters-pep-734") and "python_version" in r for r in requirements)
    assert requirements_hash(interpreter, requirements) == requirements_hash(interpreter, list(reversed(requirements)))
    assert requirements_hash(interpreter, requirements) != requirements_hash(interpreter, [*requirements, "attrs"])


def test_a_missing_requirement_is_named_with_the_command_that_installs_it() -> None:
    missing = missing_requirements(sys.executable, ["corobench-no-such-dist>=1", "pytest>=1", "gevent>=9999"])
    assert set(missing) == {"corobench-no-such-dist", "gevent"}
    assert f"fix: {sys.executable} -m pip install 'corobench-no-such-dist>=1'" in missing["corobench-no-such-dist"]
    assert "is installed" in missing["gevent"]


def test_a_requirement_whose_marker_excludes_this_interpreter_is_not_missing() -> None:
    assert missing_requirements(sys.executable, ["corobench-no-such-dist; python_version < '3.0'"]) == {}


def test_the_environment_is_cached_and_reused(py313: PreparedInterpreter) -> None:
    assert py313.venv is not None and py313.python.startswith(py313.venv)
    assert py313.missing == {}, py313.missing
    said: list[str] = []
    again = prepare(py313.interpreter, say=said.append)
    assert again.python == py313.python
    assert any("reusing the environment" in line for line in said), said


def test_a_model_missing_from_an_environment_is_skipped_with_the_fix(py313: PreparedInterpreter) -> None:
    lacking = PreparedInterpreter(
        py313.interpreter, py313.python, py313.venv, {"gevent": "gevent: not installed; fix: X"}
    )
    (cell,) = [c for c in cells_for("sleep_fanout", ["gevent"], "quick", [lacking])][:1]
    assert cell.skip_reason == "gevent cannot run under --python=3.13: gevent: not installed; fix: X"


# -- cells, version-dependent skips -------------------------------------------------


def test_interpreters_vary_fastest_and_name_themselves_in_groups_and_ids(py313: PreparedInterpreter) -> None:
    main = prepare(found(MAIN_SPEC), say=print)
    cells = cells_for("sleep_fanout", ["asyncio", "threads"], "quick", [main, py313])
    assert [(c.label, c.interpreter.spec if c.interpreter else None) for c in cells[:6]] == [
        ("asyncio", MAIN_SPEC),
        ("asyncio", "3.13"),
        ("asyncio.eager", MAIN_SPEC),
        ("asyncio.eager", "3.13"),
        ("threads", MAIN_SPEC),
        ("threads", "3.13"),
    ]
    assert cells[1].group == "sleep_fanout[n=1000,delay=0.01,python=3.13]"
    assert cells[1].id == "asyncio-n=1000-delay=0.01-python=3.13"


def test_without_python_cells_are_unchanged() -> None:
    cells = cells_for("sleep_fanout", ["asyncio"], "quick")
    assert cells[0].group == "sleep_fanout[n=1000,delay=0.01]" and cells[0].id == "asyncio-n=1000-delay=0.01"


def test_models_and_variants_needing_a_newer_python_are_skipped_there(py313: PreparedInterpreter) -> None:
    main = prepare(found(MAIN_SPEC), say=print)
    cells = cells_for("cpu_mixed", ["interpreters_asyncio", "asyncio"], "full", [main, py313])
    reasons = {(c.label, c.interpreter.spec): c.skip_reason for c in cells if c.params["work"] == 0 and c.interpreter}
    if sys.version_info < (3, 12):
        assert str(reasons[("interpreters_asyncio", MAIN_SPEC)]).startswith("interpreters_asyncio needs Python 3.12+")
        assert str(reasons[("asyncio.eager", MAIN_SPEC)]).startswith("asyncio.eager needs Python 3.12+")
    assert reasons[("interpreters_asyncio", "3.13")] is None and reasons[("asyncio.eager", "3.13")] is None


# -- the new models on 3.13 ---------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "variant"),
    [("asyncio_threads", None), ("interpreters_asyncio", None), ("asyncio", "eager"), ("uvloop", "eager")],
)
def test_new_models_give_checked_results_on_313(py313: PreparedInterpreter, model: str, variant: str | None) -> None:
    """Each round is checked in the worker (a wrong result would be a failed reply, not a number)."""
    with WorkerClient(model, python=py313.python) as worker:
        assert not worker.hello.get("cannot"), worker.hello
        assert worker.hello["python"].startswith("3.13") and worker.hello["python_build"] == "default"
        sleep = worker.run_round("sleep_fanout", {"n": 500, "delay": 0.005}, 60, variant)
        cpu = worker.run_round("cpu_mixed", {"n": 40, "delay": 0.005, "work": 5000}, 60, variant)
    for reply in (sleep, cpu):
        metrics = reply["metrics"]
        assert reply["quanta"] > 0
        assert metrics["python"].startswith("3.13") and metrics["python_implementation"] == "cpython"
        assert metrics["gil_enabled"] is True, "a default (GIL) build reported the GIL off"
    if model in ("asyncio_threads", "interpreters_asyncio"):
        assert cpu["metrics"]["pool_startup_s"] > 0


def test_subinterpreters_say_why_they_cannot_run_before_312() -> None:
    if sys.version_info >= (3, 12):
        pytest.skip("the pytest interpreter has subinterpreters with their own GIL")
    with WorkerClient("interpreters_asyncio") as worker:
        assert worker.hello["cannot_kind"] == "unavailable"
        assert "need Python 3.12+" in worker.hello["cannot"]


# -- a real session across two interpreters -----------------------------------------


def test_a_session_across_two_interpreters_records_both(py313: PreparedInterpreter, tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    session = run_benchmarks(
        f"--python={MAIN_SPEC},3.13",
        "--profile=quick",
        "--models=asyncio",
        "--workloads=sleep_fanout",
        f"--benchmark-json={out}",
        "--no-report",
    )
    assert session.returncode == 0, session.output
    saved = json.loads(out.read_text())
    recorded = {
        (b["extra_info"]["interpreter"], b["extra_info"]["python_version"][:4], b["extra_info"].get("variant"))
        for b in saved["benchmarks"]
    }
    assert (MAIN_SPEC, MAIN_SPEC, "default") in recorded and ("3.13", "3.13", "default") in recorded
    assert ("3.13", "3.13", "eager") in recorded
    for bench in saved["benchmarks"]:
        extra = bench["extra_info"]
        assert bench["group"].endswith(f",python={extra['interpreter']}]")
        assert extra["python_build"] == "default" and extra["gil_enabled"] is True
        assert extra["versions"]["python"] == extra["python_version"]
    assert [i["spec"] for i in saved["corobench"]["interpreters"]] == [MAIN_SPEC, "3.13"]


# -- the report's interpreter section ----------------------------------------------


def two_interpreter_run(tmp_path: Path) -> Path:
    """The all-models fixture run as if measured on 3.11 and again on 3.13 (3.13: the hybrid twice as fast)."""
    doc = json.loads((FIXTURES / "run_all_models.json").read_text())
    benchmarks: list[dict[str, Any]] = []
    for bench in doc["benchmarks"]:
        if bench["extra_info"]["workload"] not in ("sleep_fanout", "cpu_mixed"):
            continue
        for spec, scale in (("3.11", 1.0), ("3.13", 0.5)):
            copied = copy.deepcopy(bench)
            copied["group"] = bench["group"][:-1] + f",python={spec}]"
            copied["extra_info"].update(
                interpreter=spec, python_version=f"{spec}.0", python_build="default", python_implementation="cpython"
            )
            if bench["extra_info"]["model"] == "multiprocess_asyncio":
                copied["stats"] = {
                    k: v * scale if k in ("median", "min", "max", "mean", "q1", "q3") else v
                    for k, v in bench["stats"].items()
                }
            benchmarks.append(copied)
    doc["benchmarks"] = benchmarks
    path = tmp_path / "two.json"
    path.write_text(json.dumps(doc))
    return path


def test_the_report_shows_the_matrix_and_answers_the_claim_per_interpreter(tmp_path: Path) -> None:
    run = load_run(two_interpreter_run(tmp_path))
    doc = Document("t")
    doc.add(*interpreter_blocks(run.results))
    text = to_markdown(doc)
    assert (
        "## Interpreters" in text and "### sleep_fanout at n=10000" in text and "### cpu_mixed at work=100000" in text
    )
    hybrid_row = next(line for line in text.splitlines() if line.startswith("| multiprocess_asyncio |"))
    assert hybrid_row.rstrip(" |").endswith("(0.50)")
    assert "3.13 (CPython 3.13.0, default build, GIL on): processes (multiprocess_asyncio) win" in text
    assert "With 2 cores" in text and "tops out near 1.6–1.8x" in text  # noqa: RUF001 (the report's en dash)


def test_the_report_renders_nothing_for_one_interpreter() -> None:
    run = load_run(FIXTURES / "run_all_models.json")
    assert interpreter_blocks(run.results) == []


@pytest.mark.parametrize("model", ["asyncio_threads", "interpreters_asyncio"])
def test_pooled_models_let_their_worker_exit_cleanly(py313: PreparedInterpreter, model: str) -> None:
    """Loop threads or subinterpreters must not keep the worker alive past ``exit`` (it would be killed)."""
    worker = WorkerClient(model, python=py313.python)
    try:
        worker.run_round("sleep_fanout", {"n": 10, "delay": 0.001}, 60)
    finally:
        worker.close()
    assert worker._process.returncode == 0, f"{model} worker ended with {worker._process.returncode}"
