"""The end-of-session report: written when a session saved results, silent otherwise, never raising.

In-process tests drive ``report_after_session`` with a stand-in for pytest's config that has
pytest-benchmark's public options only; one test runs a real pytest session with pytest-benchmark
autosaving into a temporary project and checks the report path is printed after the results table.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import reports.build
from benchmarks.harness.report_hook import report_after_session, saved_results
from reports.read.find import machine_id

REPO_ROOT = Path(__file__).resolve().parent.parent
QUICK = Path(__file__).resolve().parent / "fixtures" / "run_asyncio_quick.json"
AUTOSAVE_TAG = "2eee3d8_20261126_052129"


class PluginManager:
    def __init__(self, terminal: bool) -> None:
        self.terminal = terminal
        self.registered: list[Any] = []

    def get_plugin(self, name: str) -> Any:
        return object() if self.terminal and name == "terminalreporter" else None

    def register(self, plugin: Any) -> None:
        self.registered.append(plugin)


def fake_config(
    root: Path,
    *,
    autosave: str | None = AUTOSAVE_TAG,
    json_file: Path | None = None,
    disabled: bool = False,
    terminal: bool = False,
) -> Any:
    """pytest's config as the hook sees it: pytest-benchmark's public options, the root, the plugin manager."""
    options = {
        "benchmark_disable": disabled,
        "benchmark_save": None,
        "benchmark_autosave": autosave is not None,
        "benchmark_storage": "file://./.benchmarks",
        "benchmark_json": json_file,
    }
    return SimpleNamespace(
        getoption=options.__getitem__,
        invocation_params=SimpleNamespace(dir=root),
        rootpath=root,
        pluginmanager=PluginManager(terminal),
    )


def save_run(root: Path, number: int = 1) -> Path:
    folder = root / ".benchmarks" / machine_id()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{number:04d}_{AUTOSAVE_TAG}.json"
    path.write_bytes(QUICK.read_bytes())
    return path


def test_autosaved_run_gets_a_report_and_its_path_is_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    save_run(tmp_path, 1)
    latest = save_run(tmp_path, 2)
    report_after_session(fake_config(tmp_path))
    index = tmp_path / "reports" / "out" / latest.stem / "index.html"
    assert index.is_file()
    assert capsys.readouterr().err.strip() == f"corobench report: {index}"


def test_message_goes_after_the_results_table_when_there_is_a_terminal(tmp_path: Path) -> None:
    save_run(tmp_path)
    config = fake_config(tmp_path, terminal=True)
    report_after_session(config)
    (plugin,) = config.pluginmanager.registered
    lines: list[str] = []
    plugin.pytest_terminal_summary(SimpleNamespace(write_line=lines.append))
    assert lines == [f"corobench report: {tmp_path / 'reports' / 'out' / f'0001_{AUTOSAVE_TAG}' / 'index.html'}"]


def test_benchmark_json_file_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "results.json"
    target.write_bytes(QUICK.read_bytes())
    report_after_session(fake_config(tmp_path, autosave=None, json_file=target))
    assert (tmp_path / "reports" / "out" / "results" / "index.html").is_file()
    assert "corobench report:" in capsys.readouterr().err


@pytest.mark.parametrize(
    "options",
    [
        {"disabled": True},
        {"autosave": None},
    ],
)
def test_nothing_saved_means_no_report_and_no_output(
    options: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    save_run(tmp_path)
    config = fake_config(tmp_path, **options)
    assert saved_results(config) is None
    report_after_session(config)
    assert not (tmp_path / "reports").exists()
    assert capsys.readouterr() == ("", "")


def test_a_file_older_than_the_session_is_not_taken_for_its_results(tmp_path: Path) -> None:
    old = save_run(tmp_path)
    os.utime(old, (1_000_000_000, 1_000_000_000))
    assert saved_results(fake_config(tmp_path)) is None


def test_nothing_selected_to_save_is_ignored(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    options: dict[str, Any] = {"benchmark_disable": False, "benchmark_save": None, "benchmark_autosave": False}
    options |= {"benchmark_storage": "file://./.benchmarks", "benchmark_json": None}
    config = SimpleNamespace(getoption=options.__getitem__, rootpath=tmp_path, pluginmanager=PluginManager(False))
    report_after_session(config)
    assert capsys.readouterr() == ("", "")


def test_rendering_error_is_one_line_and_the_results_stay_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = save_run(tmp_path)
    before = saved.read_bytes()

    def broken(*args: Any, **kwargs: Any) -> Path:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(reports.build, "write_report", broken)
    report_after_session(fake_config(tmp_path))
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "could not be written (RuntimeError: disk on fire)" in err and str(saved) in err
    assert saved.read_bytes() == before


def test_broken_saved_file_is_reported_not_raised(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    saved = save_run(tmp_path)
    saved.write_text('{"benchmarks": [')
    report_after_session(fake_config(tmp_path))
    err = capsys.readouterr().err
    assert "could not be written" in err and "truncated" in err and str(saved) in err


def test_strange_benchmark_session_is_reported_not_raised(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = SimpleNamespace(getoption={}.__getitem__, rootpath=tmp_path, pluginmanager=PluginManager(False))
    report_after_session(config)
    assert "could not tell where the results were saved" in capsys.readouterr().err


PROJECT_CONFTEST = """
import pytest
from benchmarks.harness.report_hook import report_after_session


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    report_after_session(session.config)
"""
PROJECT_TEST = """
def test_toy(benchmark):
    benchmark.extra_info.update(model="asyncio", workload="toy", params={"n": 3}, versions={"python": "3"})
    benchmark.pedantic(sum, args=(range(1000),), rounds=5, iterations=1)
"""


def run_session(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--benchmark-save-data", *args],
        cwd=project,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_real_session_with_autosave_prints_the_report_after_the_table(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(textwrap.dedent(PROJECT_CONFTEST))
    (tmp_path / "test_toy.py").write_text(textwrap.dedent(PROJECT_TEST))
    result = run_session(tmp_path, "--benchmark-autosave")
    assert result.returncode == 0, result.stdout + result.stderr
    (saved,) = (tmp_path / ".benchmarks").rglob("0001_*.json")
    assert json.loads(saved.read_text())["benchmarks"][0]["extra_info"]["model"] == "asyncio"
    index = tmp_path / "reports" / "out" / saved.stem / "index.html"
    assert index.is_file()
    output = result.stdout
    assert f"corobench report: {index}" in output
    assert output.index("corobench report:") > output.index("Legend:"), "the path is printed after the table"

    disabled = run_session(tmp_path, "--benchmark-autosave", "--benchmark-disable")
    assert disabled.returncode == 0
    assert "corobench report" not in disabled.stdout + disabled.stderr
    assert len(list((tmp_path / ".benchmarks").rglob("*.json"))) == 1
