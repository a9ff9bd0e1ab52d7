"""Workloads room: code that runs inside a model's worker process.

Nothing here is imported by the pytest process except the registry and the wire
protocol (neither imports a concurrency library).
"""
