"""The saved-run format has one owner (``reports.read.format``): a real run written and read back, and every
older fixture upgraded.

- A real quick cell per workload (asyncio, the quick profile) is written by the benchmark session and read
  back: every ``extra_info`` key is declared by the owner or by its workload's saved schema, with its type;
  the run record carries ``FORMAT_VERSION``; the reader's records equal the file field by field.
- A writer that adds a key the owner does not know fails that check (and ``cell_info`` refuses it).
- Every fixture of an older version reads through ``reports.read.upgrade`` into the current format.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reports.read import format as run_format
from reports.read.run import load_run
from reports.read.upgrade import upgrade
from tests.session_runner import run_benchmarks

FIXTURES = Path(__file__).resolve().parent / "fixtures"
OLDER = sorted(FIXTURES.glob("run_*.json"))
"""Every fixture run predates ``format_version``: they exist to test the upgrade."""


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("format") / "run.json"
    session = run_benchmarks("--profile=quick", "--models=asyncio", "--no-report", f"--benchmark-json={out}")
    assert session.returncode == 0, session.output
    return out


def undeclared_keys(doc: dict[str, Any]) -> list[str]:
    schemas = doc[run_format.SECTION]["workloads"]
    return [
        f"{bench['name']}: {problem}"
        for bench in doc["benchmarks"]
        for problem in run_format.undeclared(bench["extra_info"], schemas.get(bench["extra_info"]["workload"]))
    ]


def test_a_written_run_holds_only_keys_the_owner_declares(written: Path) -> None:
    doc = json.loads(written.read_text())
    assert doc[run_format.SECTION]["format_version"] == run_format.FORMAT_VERSION
    assert set(doc[run_format.SECTION]) <= set(run_format.RUN)
    assert {b["extra_info"]["workload"] for b in doc["benchmarks"]} == set(doc[run_format.SECTION]["workloads"])
    assert undeclared_keys(doc) == []


def test_a_key_the_owner_does_not_know_fails_the_round_trip(written: Path) -> None:
    doc = json.loads(written.read_text())
    doc["benchmarks"][0]["extra_info"]["open_loop_depth"] = 3
    assert undeclared_keys(doc) == [f"{doc['benchmarks'][0]['name']}: open_loop_depth: not declared"]
    doc["benchmarks"][0]["extra_info"]["rounds"] = "three"
    assert any("rounds: str" in problem for problem in undeclared_keys(doc))
    with pytest.raises(run_format.FormatError):
        run_format.cell_info(open_loop_depth=3)
    with pytest.raises(run_format.FormatError):
        run_format.run_record({"gc_regime": "off"})


def test_a_written_run_reads_back_field_by_field(written: Path) -> None:
    doc = json.loads(written.read_text())
    run = load_run(written)
    assert run.warnings == ()
    assert run.session == doc[run_format.SECTION]
    assert set(run.schemas) == set(doc[run_format.SECTION]["workloads"])
    assert len(run.results) == len(doc["benchmarks"])
    for result, bench in zip(run.results, doc["benchmarks"], strict=True):
        extra, stats = bench["extra_info"], bench["stats"]
        assert (result.group, result.name, result.fullname) == (bench["group"], bench["name"], bench["fullname"])
        assert (result.model, result.workload, result.params) == (extra["model"], extra["workload"], extra["params"])
        assert result.variant == extra.get("variant")
        assert result.extra == extra == result.saved, "a current run needs no upgrade"
        assert result.reference_scheduler is extra["reference_scheduler"]
        assert result.default_variant is extra["default_variant"]
        assert result.bottleneck == extra.get("bottleneck", "under_test")
        for name in ("median", "q1", "q3", "min", "max", "mean", "rounds"):
            assert getattr(result.stats, name) == stats[name], name
        assert list(result.stats.data) == stats["data"]


def test_the_current_version_is_left_as_written(written: Path) -> None:
    doc = json.loads(written.read_text())
    assert upgrade(doc) == doc


@pytest.mark.parametrize("path", OLDER, ids=[p.stem for p in OLDER])
def test_an_older_fixture_is_upgraded_to_the_current_format(path: Path) -> None:
    doc = json.loads(path.read_text())
    assert run_format.version_of(doc) < run_format.FORMAT_VERSION
    current = upgrade(doc)
    assert json.loads(path.read_text()) == doc, "the saved document is not changed"
    section = current[run_format.SECTION]
    assert section["format_version"] == run_format.FORMAT_VERSION
    assert section["workloads"], "every upgraded run carries its workload schemas"
    for bench in current["benchmarks"]:
        extra = bench["extra_info"]
        assert isinstance(extra["reference_scheduler"], bool) and isinstance(extra["default_variant"], bool)
        assert extra["bottleneck"] in ("under_test", "peer", "neither")
    run = load_run(path)
    assert run.session["format_version"] == run_format.FORMAT_VERSION
    assert [r.saved for r in run.results] == [b["extra_info"] for b in doc["benchmarks"] if "median" in b["stats"]]


def test_a_run_from_a_newer_writer_is_refused(tmp_path: Path) -> None:
    from reports.read.run import ReportInputError

    doc = json.loads(OLDER[0].read_text())
    doc[run_format.SECTION] = {"format_version": run_format.FORMAT_VERSION + 1}
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps(doc))
    with pytest.raises(ReportInputError, match="format version"):
        load_run(newer)
