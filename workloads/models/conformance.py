"""Makes mypy check every production model module against ``ModelInterface``.

Nothing here runs: the imports sit under ``TYPE_CHECKING``, so importing this module imports no
concurrency library. mypy, which the project's own tests run, sees each model module assigned to
the interface, so a missing or mistyped workload function is a type error naming the model.
``tests/test_layout.py`` checks that every model in the registry is listed here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workloads.interface import ModelInterface
    from workloads.models import (
        asyncio_model,
        asyncio_threads_model,
        eventlet_model,
        gevent_model,
        interpreters_asyncio_model,
        threads_model,
        tornado_model,
        trio_model,
        twisted_model,
        uvloop_model,
    )
    from workloads.models.generators_model import model as generators_model
    from workloads.models.greenlet_model import model as greenlet_model
    from workloads.models.multiprocess_asyncio_model import model as multiprocess_asyncio_model

    CONFORMING: dict[str, ModelInterface] = {
        "greenlet": greenlet_model,
        "gevent": gevent_model,
        "eventlet": eventlet_model,
        "tornado": tornado_model,
        "twisted": twisted_model,
        "asyncio": asyncio_model,
        "multiprocess_asyncio": multiprocess_asyncio_model,
        "threads": threads_model,
        "trio": trio_model,
        "generators": generators_model,
        "uvloop": uvloop_model,
        "asyncio_threads": asyncio_threads_model,
        "interpreters_asyncio": interpreters_asyncio_model,
    }
