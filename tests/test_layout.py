"""The tree shows the architecture: each room imports only what it may, and every model is type-checked.

The rules, checked over the static import graph of every module in the repository:
- ``reports`` imports neither ``workloads`` nor ``benchmarks`` (it reads JSON only);
- ``workloads`` never imports ``benchmarks``, ``reports`` or ``tests``;
- the worker runtime imports no model module (it finds one by name in the registry);
- workload specs import only the runtime pieces a round uses (window, errors, server control, /proc);
- ``benchmarks`` imports no model module and no peer (it starts them by module name);
- no model module is importable under its library's own name.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.session_runner import REPO_ROOT
from workloads.models.registry import MODELS

ROOMS = ("benchmarks", "workloads", "reports", "tests")
LIBRARY_NAMES = {"asyncio", "gevent", "eventlet", "greenlet", "tornado", "twisted", "trio", "uvloop", "threading"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    found = {}
    for room in ROOMS:
        for path in (REPO_ROOT / room).rglob("*.py"):
            if "fixtures" not in path.parts and "out" not in path.parts:
                found[module_name(path)] = path
    return found


def imports_of(path: Path, name: str) -> set[str]:
    """Project modules imported by ``path`` (absolute and relative, at any depth, TYPE_CHECKING included)."""
    out: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            out.add(base)
            out.update(f"{base}.{alias.name}" for alias in node.names)
    return {m for m in out if m.split(".")[0] in ROOMS}


GRAPH = {name: imports_of(path, name) for name, path in project_modules().items()}


def within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def violations(importer_prefix: str, allowed: tuple[str, ...], exclude: tuple[str, ...] = ()) -> list[str]:
    bad = []
    for importer, imported in GRAPH.items():
        if not within(importer, importer_prefix) or any(within(importer, e) for e in exclude):
            continue
        bad += [f"{importer} -> {m}" for m in imported if not any(within(m, a) for a in allowed)]
    return bad


def test_the_graph_was_read() -> None:
    assert "workloads.runtime.worker" in GRAPH
    assert "workloads.models.registry" in GRAPH["workloads.runtime.worker"]


def test_reports_read_json_only() -> None:
    assert violations("reports", ("reports",)) == []


def test_workloads_never_import_the_harness_or_the_reports() -> None:
    assert violations("workloads", ("workloads",)) == []


def test_the_runtime_imports_no_model() -> None:
    allowed = ("workloads.runtime", "workloads.interface", "workloads.specs", "workloads.models.registry")
    assert violations("workloads.runtime", allowed) == []


def test_specs_import_only_the_runtime_pieces_a_round_uses() -> None:
    allowed = (
        "workloads.specs",
        "workloads.runtime.window",
        "workloads.runtime.errors",
        "workloads.runtime.server_control",
        "workloads.runtime.proc",
    )
    assert violations("workloads.specs", allowed) == []


def test_peers_import_no_model() -> None:
    assert violations("workloads.peers", ("workloads.runtime", "workloads.specs", "workloads.peers")) == []


def test_the_harness_imports_no_model_and_no_peer() -> None:
    allowed = (
        "benchmarks",
        "reports",
        "workloads.interface",
        "workloads.specs",
        "workloads.runtime",
        "workloads.models.registry",
    )
    assert violations("benchmarks", allowed) == []


def test_the_rule_checker_can_fail() -> None:
    GRAPH["reports.__probe__"] = {"workloads.runtime.worker"}
    try:
        assert violations("reports", ("reports",)) == ["reports.__probe__ -> workloads.runtime.worker"]
    finally:
        del GRAPH["reports.__probe__"]


def test_every_registered_model_is_type_checked_against_the_interface() -> None:
    tree = ast.parse((REPO_ROOT / "workloads/models/conformance.py").read_text())
    checked = {
        key.value
        for node in ast.walk(tree)
        if isinstance(node, ast.AnnAssign) and isinstance(node.value, ast.Dict)
        for key in node.value.keys
        if isinstance(key, ast.Constant)
    }
    assert checked == set(MODELS)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_no_model_module_shadows_its_library(name: str) -> None:
    leaf = MODELS[name].module.split(".")
    assert not LIBRARY_NAMES & set(leaf[2:]), f"{MODELS[name].module} could shadow a library"


def test_a_model_missing_a_workload_function_fails_mypy(tmp_path: Path) -> None:
    """Rename trio's cpu_mixed in a copy of the tree: mypy must reject the conformance module."""
    shutil.copytree(REPO_ROOT / "workloads", tmp_path / "workloads", ignore=shutil.ignore_patterns("__pycache__"))
    model = tmp_path / "workloads/models/trio_model.py"
    source = model.read_text()
    assert "\ndef cpu_mixed(" in source
    model.write_text(source.replace("\ndef cpu_mixed(", "\ndef cpu_mixed_removed("))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--ignore-missing-imports",
            "--no-incremental",
            "workloads/models/conformance.py",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "conformance.py" in result.stdout and "ModelInterface" in result.stdout, result.stdout
