"""Read: the saved-run format (``format``, its one owner), upgrades of older versions (``upgrade``), runs
as typed records (``run``), the workload schemas a run carries (``schemas``) and where runs are stored
(``find``). Stdlib only; imported by the benchmarks side to write the format it reads."""
