"""The worker runtime: entry point, request loop, pipe protocol, timing window, /proc readings, errors.

It finds a model by name in ``workloads.models.registry`` and imports its module by path; it never
imports a model module statically.
"""
