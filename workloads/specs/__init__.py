"""Workload definitions: one module per workload (parameters, grid, check, metric schema).

The list of workloads, in the one place that names them all, is ``workloads.interface.WORKLOADS``.
Nothing here imports a concurrency library or the harness.
"""
