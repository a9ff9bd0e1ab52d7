"""corobench's reports room: saved pytest-benchmark JSON in, charts + ``index.html`` + ``summary.md`` out.

Reads JSON only (never imports ``workloads`` or ``benchmarks``). Modules, in the order data flows:

- ``find``: locate ``.benchmarks/``, the newest run, run ids; ``load``: read and validate run files.
- ``schema``: the run's own workload schemas (labels, units, direction, headlines, charts, order), with
  ``legacy_schema`` for runs saved before the schemas travelled with them.
- ``groups``, ``metrics``, ``fmt``, ``palette``: organise results, name and format metrics, fixed colours.
- ``calibration``: cpu_mixed on one calibration per run; ``memory``: memory within its resolution.
- ``stats``, ``ranking``, ``headline``: bootstrap intervals, the fixed baseline, winners only when separated,
  ties called ties, the headline metric's ratio to the baseline with its interval and implied ideal.
- ``figures``, ``charts``, ``scaling``: matplotlib charts (Agg canvas, PNG + SVG).
- ``compare``: the two-run comparison.
- ``decision``, ``advice``, ``hybrid_claim``, ``reproduce``, ``summary``, ``compare_summary``: the report as a
  ``document``; ``html`` renders it; ``export`` writes ``results.csv``.
- ``build``: write a report directory; ``__main__``: the command line; ``session_hook``: the pytest end.
"""
