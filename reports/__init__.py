"""corobench's reports room: saved pytest-benchmark JSON in, charts + ``index.html`` + ``summary.md`` out.

Reads JSON only (never imports ``workloads`` or ``benchmarks``). Modules, in the order data flows:

- ``find``: locate ``.benchmarks/``, the newest run, run ids; ``load``: read and validate run files.
- ``groups``, ``metrics``, ``fmt``, ``palette``: organise results, name and format metrics, fixed colours.
- ``figures``, ``charts``, ``scaling``: matplotlib charts (Agg canvas, PNG + SVG).
- ``stats``, ``compare``: stdlib statistics and the two-run comparison.
- ``advice``, ``summary``, ``compare_summary``: the report as a ``document``; ``html`` renders it.
- ``build``: write a report directory; ``__main__``: the command line; ``session_hook``: the pytest end.
"""
