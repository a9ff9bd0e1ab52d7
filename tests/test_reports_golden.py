"""The report a user sees stays the same byte for byte: every fixture run, rebuilt, against its golden copy.

``tests/fixtures/golden/<case>/`` holds ``summary.md``, ``index.html`` and ``results.csv`` as the
report code wrote them, and ``files.txt``, the names of every chart and JSON file beside them (chart
bytes are not compared: matplotlib's output varies with its version). A change that is meant to alter
the report rewrites them with ``COROBENCH_WRITE_GOLDEN=1 python -m pytest tests/test_reports_golden.py``,
and the diff shows what a reader will see differently.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reports.__main__ import main

FIXTURES = Path(__file__).resolve().parent / "fixtures"
GOLDEN = FIXTURES / "golden"
TEXT_FILES = ("summary.md", "index.html", "results.csv")
CASES = {
    **{path.stem: [str(path)] for path in sorted(FIXTURES.glob("run_*.json"))},
    "compare": ["--compare", str(FIXTURES / "run_all_models.json"), str(FIXTURES / "run_all_models_after.json")],
}


def listing(out: Path) -> str:
    names = sorted(p.name for p in out.iterdir() if p.suffix in (".png", ".svg", ".json"))
    return "".join(f"{name}\n" for name in names)


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_report_is_unchanged_byte_for_byte(case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / case
    assert main([*CASES[case], "--out", str(out)]) == 0, capsys.readouterr().err
    golden = GOLDEN / case
    written = {name: (out / name).read_bytes() for name in TEXT_FILES if (out / name).is_file()}
    written["files.txt"] = listing(out).encode()
    if os.environ.get("COROBENCH_WRITE_GOLDEN") == "1":
        golden.mkdir(parents=True, exist_ok=True)
        for name, data in written.items():
            (golden / name).write_bytes(data)
    expected = {name: (golden / name).read_bytes() for name in (*TEXT_FILES, "files.txt") if (golden / name).is_file()}
    assert sorted(written) == sorted(expected)
    for name, data in written.items():
        assert data == expected[name], f"{case}/{name} differs from tests/fixtures/golden/{case}/{name}"
