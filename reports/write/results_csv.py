"""``results.csv``: one row per result of the run, columns named by their path in the saved JSON.

Columns are ``group``, ``name``, ``fullname``, then every ``stats.*`` number pytest-benchmark saved
(not the raw ``stats.data``), then every ``extra_info.*`` value with nested objects flattened
(``extra_info.params.n``, ``extra_info.versions.python``); lists are written as JSON. The values are
the JSON's own, so the file opens in a spreadsheet and matches the JSON exactly. Uses ``csv``.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from reports.read.run import Run

CSV_NAME = "results.csv"


def flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            flatten(f"{prefix}.{key}", inner, out)
    elif isinstance(value, list):
        out[prefix] = json.dumps(value)
    else:
        out[prefix] = value


def rows(run: Run) -> list[dict[str, Any]]:
    """One flat dict per result, from the saved benchmarks (read again so nothing is lost or rounded)."""
    doc = json.loads(run.path.read_text(encoding="utf-8")) if run.path.is_file() else {}
    saved = {(b.get("group"), b.get("name")): b for b in doc.get("benchmarks", []) if isinstance(b, dict)}
    out = []
    for result in run.results:
        bench = saved.get((result.group, result.name), {})
        row: dict[str, Any] = {"group": result.group, "name": result.name, "fullname": result.fullname}
        stats = bench.get("stats") if isinstance(bench.get("stats"), dict) else {}
        if not stats:  # a merged run has no one file to read back: the parsed statistics stand in
            s = result.stats
            stats = {"min": s.min, "max": s.max, "mean": s.mean, "median": s.median, "q1": s.q1, "q3": s.q3}
            stats["rounds"] = s.rounds
        for key, value in stats.items():
            if key != "data":
                flatten(f"stats.{key}", value, row)
        flatten("extra_info", bench.get("extra_info", result.saved), row)
        out.append(row)
    return out


def write_csv(run: Run, out: Path) -> Path:
    table = rows(run)
    columns: list[str] = []
    for row in table:
        columns.extend(k for k in row if k not in columns)
    path = out / CSV_NAME
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for row in table:
            writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return path
