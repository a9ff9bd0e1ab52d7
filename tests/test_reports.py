"""The reports room end to end: ``python -m reports`` on saved runs, its charts, HTML, Markdown and errors.

Fixtures in tests/fixtures/: ``run_asyncio_quick.json`` is a real quick run; ``run_all_models*.json``
are edited copies with every seed model, every workload, echo variants and bound flags (the second
run has gevent faster and threads slower); ``run_unknown_workload.json`` has a workload and a model
the reports do not know and a result with missing metrics.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from reports.__main__ import main
from reports.read.find import machine_id

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
ALL_MODELS = FIXTURES / "run_all_models.json"
ALL_MODELS_AFTER = FIXTURES / "run_all_models_after.json"
QUICK = FIXTURES / "run_asyncio_quick.json"
UNKNOWN = FIXTURES / "run_unknown_workload.json"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
UNITS = {"s": 1.0, "ms": 1e-3, "µs": 1e-6, "ns": 1e-9}


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "reports", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


RUN_FIXTURES = sorted(p for p in FIXTURES.glob("run_*.json") if not p.stem.endswith("_after"))
"""Every saved run in tests/fixtures/ (a new one dropped there is checked by the generic tests)."""
_rendered: dict[Path, Path] = {}


def rendered(path: Path, factory: pytest.TempPathFactory) -> Path:
    """The report of a fixture run, written once per test session through the real command line."""
    if path not in _rendered:
        out = factory.mktemp(path.stem) / "report"
        result = run_cli(str(path), "--out", str(out), cwd=REPO_ROOT)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip().splitlines()[-1] == str(out / "index.html")
        _rendered[path] = out
    return _rendered[path]


@pytest.fixture(params=RUN_FIXTURES, ids=[p.stem for p in RUN_FIXTURES])
def report(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(saved run, its report directory) for every fixture run."""
    return request.param, rendered(request.param, tmp_path_factory)


@pytest.fixture
def full_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return rendered(ALL_MODELS, tmp_path_factory)


def image_stems(index: Path) -> list[str]:
    return re.findall(r'<img src="([^"]+)\.png"', index.read_text(encoding="utf-8"))


def check_images(out: Path) -> list[str]:
    stems = image_stems(out / "index.html")
    assert stems, "the report shows no chart"
    for stem in stems:
        png, svg = out / f"{stem}.png", out / f"{stem}.svg"
        assert png.read_bytes()[:8] == PNG_SIGNATURE, png
        with Image.open(png) as image:
            image.verify()
        with Image.open(png) as image:
            width, height = image.size
            assert width > 300 and height > 200, (png, image.size)
        root = ET.parse(svg).getroot()
        assert root.tag.endswith("svg"), svg
    on_disk = {p.stem for p in out.glob("*.png")} | {p.stem for p in out.glob("*.svg")}
    assert on_disk == set(stems), "every chart on disk is in the report and every chart in the report is on disk"
    return stems


def models_in(path: Path) -> set[str]:
    return {b["extra_info"]["model"] for b in json.loads(path.read_text())["benchmarks"]}


def seconds(text: str) -> float:
    number, unit = text.split()
    return float(number) * UNITS[unit]


TAGS = r" \((client-bound|server-bound|peer-bound|stalled|reference scheduler)\)$"


def bare_label(cell: str) -> str:
    """``gevent ☆ (client-bound)`` -> ``gevent``: the series label without its place mark and tag."""
    return re.sub(r" [★☆]$", "", re.sub(TAGS, "", cell))


def param_heading(bench: dict[str, Any]) -> str:
    info = bench["extra_info"]
    params = ", ".join(f"{'N' if k == 'n' else k}={v}" for k, v in info["params"].items())
    return f"{info['workload']} at {params}"


def test_every_chart_is_a_valid_png_and_svg(report: tuple[Path, Path]) -> None:
    run, out = report
    stems = check_images(out)
    groups = {b["group"] for b in json.loads(run.read_text())["benchmarks"]}
    assert len([s for s in stems if s.startswith("group_")]) == len(groups)


def test_full_report_has_every_kind_of_chart(full_report: Path) -> None:
    expected = {
        "sleep_fanout_overhead_vs_n",
        "sleep_fanout_memory_per_task",
        "tcp_echo_throughput_vs_connections",
        "tcp_echo_server_cpu_per_msg",
        "tcp_echo_memory_per_connection",
        "tcp_echo_latency_message_size_1024",
        "tcp_echo_latency_message_size_16384",
        "tcp_client_throughput_vs_connections",
        "tcp_client_memory_per_connection",
        "timeout_cancel_cancel_cost_vs_n",
        "timeout_cancel_memory_per_task",
        "cpu_mixed_speedup_vs_work",
    }
    assert expected <= set(image_stems(full_report / "index.html"))


def test_html_names_every_model_and_is_offline(report: tuple[Path, Path]) -> None:
    run, out = report
    html = (out / "index.html").read_text(encoding="utf-8")
    for model in models_in(run):
        assert model in html
    assert not re.search(r'(src|href)="(https?:)?//', html), "the page must not fetch anything"
    ET.fromstring(html.replace("<!DOCTYPE html>", ""))  # well-formed enough to parse as XML


def test_echo_variants_are_named(full_report: Path) -> None:
    html = (full_report / "index.html").read_text(encoding="utf-8")
    assert "asyncio (streams)" in html and "asyncio (protocol)" in html


def test_summary_medians_equal_the_saved_stats(report: tuple[Path, Path]) -> None:
    run, out = report
    summary = (out / "summary.md").read_text(encoding="utf-8")
    sections = {m.group(1): m.group(2) for m in re.finditer(r"^### (.+?)\n(.*?)(?=^#|\Z)", summary, re.M | re.S)}
    for bench in json.loads(run.read_text())["benchmarks"]:
        info = bench["extra_info"]
        label = info["model"] + (f" ({info['variant']})" if info.get("variant") else "")
        rows = [line.split(" | ") for line in sections[param_heading(bench)].splitlines() if line.startswith("| ")]
        mine = [row for row in rows if bare_label(row[1]) == label]
        assert len(mine) == 1, (label, bench["group"])
        median = bench["stats"]["median"]
        assert seconds(mine[0][2]) == pytest.approx(median, rel=6e-4), (label, bench["group"])
        if info.get("client_bound"):
            assert "(client-bound)" in mine[0][1]
        if info.get("reference_server_bound"):
            assert "(server-bound)" in mine[0][1]


def test_summary_reads_as_markdown_with_environment_and_generated_advice(full_report: Path) -> None:
    summary = (full_report / "summary.md").read_text(encoding="utf-8")
    for text in ("AMD EPYC, 2 cores", "3.11.7", "gevent | 26.9.0", "twisted | 26.10.0", "2eee3d8f07ae"):
        assert text in summary
    advice = summary.split("## What this means for your choice")[1].split("\n## ")[0]
    assert "asyncio's time [" in advice  # ratios to the baseline carry their interval
    assert "peer-bound" in advice
    assert "2.29x asyncio's time" in advice  # gevent at N=10000: 182.3 ms / 79.45 ms
    assert "2.29x [" in summary
    for line in summary.splitlines():
        if line.startswith("|"):
            assert line.endswith("|"), line


def test_unknown_workload_and_missing_metrics_still_report(tmp_path_factory: pytest.TempPathFactory) -> None:
    out = rendered(UNKNOWN, tmp_path_factory)
    assert "group_mystery_workload_size_3" in image_stems(out / "index.html")
    html = (out / "index.html").read_text(encoding="utf-8")
    assert "newmodel" in html and "trio" in html and "widgets per s" in html


def test_compare_marks_real_changes_and_noise(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--compare", str(ALL_MODELS), str(ALL_MODELS_AFTER), "--out", str(tmp_path)]) == 0
    stems = check_images(tmp_path)
    assert {"comparison_sleep_fanout", "comparison_tcp_echo", "comparison_tcp_client"} <= set(stems)
    summary = (tmp_path / "summary.md").read_text(encoding="utf-8")
    rows = {(r[0], r[1]): r for r in (line.strip("| ").split(" | ") for line in summary.splitlines()) if len(r) == 8}
    assert "faster" in rows[("N=10000", "gevent")][7]
    assert "slower" in rows[("N=10000", "threads")][7]
    assert "within noise" in rows[("N=10000", "asyncio")][7]
    assert "different machines" not in summary
    assert capsys.readouterr().out.strip() == str(tmp_path / "index.html")


def test_compare_of_runs_from_different_machines_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = json.loads(QUICK.read_text())
    other["machine_info"]["node"] = "laptop"
    other["machine_info"]["cpu"]["brand_raw"] = "Intel Core i7"
    other["machine_info"]["cpu"]["count"] = 8
    (tmp_path / "other.json").write_text(json.dumps(other))
    out = tmp_path / "out"
    assert main(["--compare", str(QUICK), str(tmp_path / "other.json"), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "different machines" in err and "Intel Core i7" in err
    assert "different machines" in (out / "summary.md").read_text(encoding="utf-8")
    assert "different machines" in (out / "index.html").read_text(encoding="utf-8")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder with two autosaved runs under .benchmarks/<machine id>/."""
    storage = tmp_path / ".benchmarks" / machine_id()
    storage.mkdir(parents=True)
    for name in ("0001_aaaa_20261126_050000.json", "0002_bbbb_20261127_050000.json"):
        (storage / name).write_bytes(QUICK.read_bytes())
    (tmp_path / "sub").mkdir()
    return tmp_path


def storage_digest(project: Path) -> dict[str, str]:
    root = project / ".benchmarks"
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        for p in root.rglob("*")
    }


def test_no_argument_reports_the_newest_run_found_upwards(project: Path) -> None:
    before = storage_digest(project)
    result = run_cli(cwd=project / "sub")
    assert result.returncode == 0, result.stderr
    index = project / "reports" / "out" / "0002_bbbb_20261127_050000" / "index.html"
    assert result.stdout.strip() == str(index)
    check_images(index.parent)
    assert storage_digest(project) == before, "nothing may be written into .benchmarks/"


@pytest.mark.parametrize("run_id", ["1", "0001", "0001_aaaa", "0001_aaaa_20261126_050000"])
def test_run_ids_as_pytest_benchmark_lists_them(
    project: Path, run_id: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(project)
    chosen: list[tuple[str, Path]] = []

    def record(runs: list[Any], out: Path) -> Path:  # resolution only; rendering is tested above
        chosen.extend((run.path.name, out) for run in runs)
        return out / "index.html"

    monkeypatch.setattr("reports.__main__.write_report", record)
    assert main([run_id]) == 0
    assert chosen == [("0001_aaaa_20261126_050000.json", project / "reports" / "out" / "0001_aaaa_20261126_050000")]
    assert capsys.readouterr().out.strip() == str(chosen[0][1] / "index.html")


def bad_input(argv: list[str], cwd: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> str:
    monkeypatch.chdir(cwd)
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1, captured.err
    return captured.err


def test_no_saved_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    err = bad_input([], tmp_path, monkeypatch, capsys)
    assert "no saved runs" in err and "pytest benchmarks --benchmark-autosave" in err
    (tmp_path / ".benchmarks").mkdir()
    err = bad_input([], tmp_path, monkeypatch, capsys)
    assert "no saved runs" in err and "pytest benchmarks --benchmark-autosave" in err


def test_no_saved_runs_exit_status_from_the_command_line(tmp_path: Path) -> None:
    result = run_cli(cwd=tmp_path)
    assert result.returncode == 2
    assert "pytest benchmarks --benchmark-autosave" in result.stderr


def test_truncated_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.json"
    text = QUICK.read_text()
    broken.write_text(text[: len(text) // 2])
    err = bad_input([str(broken)], tmp_path, monkeypatch, capsys)
    assert "broken.json" in err and "truncated" in err


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('{"name": "not benchmarks"}', "not a pytest-benchmark results file"),
        ("[1, 2, 3]", "not a pytest-benchmark results file"),
        ('{"machine_info": {}, "benchmarks": []}', "holds no benchmark results"),
        ('{"machine_info": {}, "benchmarks": [{"name": "x"}]}', "no 'name' or no 'stats'"),
        ("", "empty"),
        ("\x00\x01binary", "not valid JSON"),
    ],
)
def test_foreign_or_unreadable_json(
    content: str, problem: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "foreign.json"
    path.write_text(content)
    err = bad_input([str(path)], tmp_path, monkeypatch, capsys)
    assert "foreign.json" in err and problem in err


def test_unknown_run_id_and_missing_file(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    err = bad_input(["0042"], project, monkeypatch, capsys)
    assert "0042" in err and "no saved run matches" in err and "0001" in err
    err = bad_input(["missing.json"], project, monkeypatch, capsys)
    assert "missing.json" in err and "no such file" in err


def test_refuses_to_write_into_benchmarks_storage(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    before = storage_digest(project)
    err = bad_input(["0001", "--out", str(project / ".benchmarks" / "report")], project, monkeypatch, capsys)
    assert "refusing" in err
    assert storage_digest(project) == before


def test_an_output_folder_that_cannot_be_written_is_one_line_and_the_run_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / QUICK.name
    run.write_bytes(QUICK.read_bytes())
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    err = bad_input([str(run), "--out", str(blocker / "report")], tmp_path, monkeypatch, capsys)
    assert "cannot write the report there" in err and "a_file" in err
    assert run.read_bytes() == QUICK.read_bytes() and blocker.read_text() == "not a folder"


def test_rerun_into_same_directory_leaves_no_stale_charts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(UNKNOWN), "--out", str(tmp_path)]) == 0
    assert main([str(QUICK), "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    stems = check_images(tmp_path)
    assert not any("mystery" in s for s in stems)


def test_reports_reads_json_only_and_the_hook_imports_nothing_heavy() -> None:
    hook = (
        "import sys, benchmarks.harness.report_hook\n"
        "assert 'matplotlib' not in sys.modules, 'the hook must stay cheap to import'\n"
    )
    report = (
        "import sys, reports.__main__, reports.build\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('workloads', 'benchmarks', 'pytest'))\n"
        "assert not bad, bad\n"
    )
    for code in (hook, report):
        result = subprocess.run(
            [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stderr


def test_a_partial_run_and_its_failed_and_skipped_cells_are_reported(tmp_path: Path) -> None:
    doc = json.loads(QUICK.read_text())
    doc["corobench"] = {
        "partial": True,
        "interrupted_by": "SIGTERM",
        "failed_cells": [{"test": "b.py::test_sleep_fanout[gevent-n=100-delay=0.01]", "cause": "gevent worker hung"}],
        "skipped_cells": [{"test": "b.py::test_sleep_fanout[threads-n=100000-delay=0.01]", "reason": "too many"}],
    }
    saved = tmp_path / "partial.json"
    saved.write_text(json.dumps(doc))
    result = run_cli(str(saved), "--out", str(tmp_path / "out"), cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert "This run was interrupted by SIGTERM" in summary
    assert "test_sleep_fanout[gevent-n=100-delay=0.01] — gevent worker hung" in summary
    assert "test_sleep_fanout[threads-n=100000-delay=0.01] — too many" in summary
    assert "gevent worker hung" in (tmp_path / "out" / "index.html").read_text()
