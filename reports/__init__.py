"""corobench's reports room: saved pytest-benchmark JSON in, charts + ``index.html`` + ``summary.md`` out.

Reads JSON only (never imports ``workloads`` or ``benchmarks``, never pytest). Rooms, in the order data flows:

- ``read``: ``format`` (the saved-run format's one owner, ``FORMAT_VERSION``; the benchmarks side writes
  through it), ``upgrade`` (older versions to the current one, the only place that knows them), ``run``
  (typed runs and results; load, merge), ``schemas`` (the workload schemas a run carries), ``find``
  (``.benchmarks/``, the newest run, run ids).
- ``judge``: ``ranking`` (bootstrap intervals, the fixed baseline, winners only when separated, ties),
  ``headline``, ``memory``, ``calibration``, ``latency`` (the open-loop judgement of tcp_latency),
  ``compare`` (two runs), ``groups``, ``metrics``, ``families``, ``stats``. Pure, stdlib only.
- ``write``: the report as a ``document`` (``summary``, ``decision``, ``advice``, ``hybrid_claim``,
  ``reproduce``, ``run_status``, ``interpreter_matrix``, ``comparison``), rendered to Markdown
  (``document``) and HTML (``html``); ``results_csv``; ``fmt``. Stdlib only.
- ``draw``: ``figures``, ``palette``, ``charts``, ``scaling``, ``open_loop``, ``ratio_chart``: the only
  matplotlib users.
- ``build``: judges a run once and wires read -> judge -> write / draw; ``__main__``: the command line.
"""
