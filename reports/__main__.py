"""``python -m reports``: turn saved pytest-benchmark runs into charts, ``index.html`` and ``summary.md``.

    python -m reports                      # the newest run under .benchmarks/ (searched upwards from here)
    python -m reports 0003 0004            # run ids (NNNN or file stem) or JSON paths; several are merged
    python -m reports --compare 0003 0004  # OLD NEW: ratio per benchmark, noise shown as such
    python -m reports run.json --out DIR   # default: reports/out/<run-stem>/ in the project root

Exit status 2 for bad input (no saved runs, unreadable, truncated or foreign JSON, an unknown run id),
with a one-line message naming the file and the problem. Uses ``argparse``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from reports.build import (
    default_compare_out,
    default_out,
    project_root,
    warnings_for,
    write_comparison,
    write_report,
)
from reports.read.find import newest_run, resolve_run
from reports.read.run import ReportInputError, load_run

EXIT_BAD_INPUT = 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reports", description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="*", metavar="RUN", help="run id (NNNN or file stem) or JSON path")
    parser.add_argument("--out", type=Path, help="output directory (default: reports/out/<run-stem>/)")
    parser.add_argument("--compare", nargs=2, metavar=("OLD", "NEW"), help="compare two runs")
    args = parser.parse_args(argv)
    if args.compare and args.runs:
        parser.error("give either runs or --compare OLD NEW, not both")
    cwd = Path.cwd()
    try:
        if args.compare:
            old, new = (load_run(resolve_run(arg, cwd)) for arg in args.compare)
            _print_warnings(warnings_for([old, new]))
            out = args.out or default_compare_out(project_root(cwd), old, new)
            index = write_comparison(old, new, out)
        else:
            paths = [resolve_run(arg, cwd) for arg in args.runs] or [newest_run(cwd)]
            runs = [load_run(path) for path in paths]
            _print_warnings(warnings_for(runs))
            out = args.out or default_out(project_root(cwd), runs)
            index = write_report(runs, out)
    except ReportInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(index)
    return 0


def _print_warnings(lines: list[str]) -> None:
    for line in lines:
        print(line if line.startswith("WARNING") else f"warning: {line}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
