"""Workloads room: what runs inside worker and peer processes, plus the contract the harness reads.

- ``runtime/``: the worker's entry point, request loop, pipe protocol, timing window, memory and
  ``/proc`` readings, error types. Imports no model module.
- ``specs/``: one module per workload (parameters, grid per profile, check, metric schema).
- ``interface.py``: the one list of workloads and the ``ModelInterface`` every model implements.
- ``models/``: one module (or package) per model, the registry, helpers two models share.
- ``peers/``: fixed-code processes around a cell (echo load generator, reference server).

Nothing here imports ``benchmarks`` or ``reports``. The pytest process imports only the registry,
the interface, the specs and the wire protocol, none of which imports a concurrency library.
"""
