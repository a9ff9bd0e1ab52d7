"""The concurrency models: one module per model (a package where it has private helpers).

``registry.py`` lists them; ``shared/`` holds code two models share (asyncio coroutines for asyncio
and uvloop, the blocking echo client); ``conformance.py`` makes mypy check every model against
``workloads.interface.ModelInterface``.
"""
