"""The tree shows the architecture: each room imports only what it may, and every model is type-checked.

The rules, checked over the static import graph of every module in the repository:
- ``reports`` imports neither ``workloads`` nor ``benchmarks`` (it reads JSON only);
- ``workloads`` never imports ``benchmarks``, ``reports`` or ``tests``;
- the worker runtime imports no model module (it finds one by name in the registry);
- workload specs import only the runtime pieces a round uses (window, errors, server control, /proc);
- ``benchmarks`` imports no model module and no peer (it starts them by module name);
- no model module is importable under its library's own name;
- ``reports`` has the rooms read -> judge -> write / draw -> build: reading imports nothing after it,
  judging never imports writing or drawing, writing never imports drawing, only ``reports.draw`` imports
  matplotlib (judging and writing import where it is absent), nothing in ``reports`` imports pytest, and
  no function or module name means two things.
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
        "workloads.runtime.collector",  # the regime names: a spec says which regimes its cells run under
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


def top_level_imports(path: Path) -> set[str]:
    """Every module ``path`` imports, third-party ones included, at any depth."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            out.add(node.module.split(".")[0])
    return out


REPORT_ROOMS = ("reports.read", "reports.judge", "reports.write", "reports.draw")


def test_the_reports_rooms_are_the_tree() -> None:
    loose = sorted(m for m in GRAPH if within(m, "reports") and m.count(".") == 1 and not within(m, REPORT_ROOMS[0]))
    assert set(loose) - set(REPORT_ROOMS) == {"reports.__main__", "reports.build"}


def test_reading_judging_and_writing_never_import_the_charts() -> None:
    for room in ("reports.read", "reports.judge", "reports.write"):
        bad = [f"{m} -> {i}" for m, imported in GRAPH.items() if within(m, room) for i in imported]
        assert [b for b in bad if "reports.draw" in b] == []


def test_reading_never_imports_judging_or_writing() -> None:
    assert violations("reports.read", ("reports.read",)) == []


def test_judging_never_imports_writing() -> None:
    assert violations("reports.judge", ("reports.judge", "reports.read")) == []


def test_only_the_charts_import_matplotlib_and_nothing_in_reports_imports_pytest() -> None:
    modules = project_modules()
    for name, path in modules.items():
        if not within(name, "reports"):
            continue
        imported = top_level_imports(path)
        assert "pytest" not in imported and "_pytest" not in imported, name
        if "matplotlib" in imported:
            assert within(name, "reports.draw"), f"{name} imports matplotlib outside reports.draw"


def test_judging_and_writing_import_without_matplotlib() -> None:
    """Every module of read, judge and write imports in an interpreter where matplotlib cannot be found."""
    names = sorted(m for m in project_modules() if within(m, "reports") and not within(m, "reports.draw"))
    names = [m for m in names if m not in ("reports.build", "reports.__main__")]
    code = (
        "import sys\n"
        "class NoMatplotlib:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'matplotlib':\n"
        "            raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, NoMatplotlib())\n"
        f"for name in {names!r}:\n"
        "    __import__(name)\n"
        "assert 'matplotlib' not in sys.modules and 'pytest' not in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "reports.judge.ranking" in names and "reports.write.summary" in names


def test_one_name_one_thing_in_reports() -> None:
    """No top-level function defined in two modules of reports, and no two module names one letter apart."""
    defined: dict[str, list[str]] = {}
    leaves: dict[str, str] = {}
    for name, path in project_modules().items():
        if not within(name, "reports"):
            continue
        leaves[name] = name.rsplit(".", 1)[-1]
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef | ast.ClassDef):
                defined.setdefault(node.name, []).append(name)
    assert {n: where for n, where in defined.items() if len(where) > 1} == {}
    pairs = [
        (a, b)
        for a in leaves
        for b in leaves
        if a < b and leaves[a] != leaves[b] and one_letter_apart(leaves[a], leaves[b])
    ]
    assert pairs == []


def one_letter_apart(a: str, b: str) -> bool:
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    short, long = sorted((a, b), key=len)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))
