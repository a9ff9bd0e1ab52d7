"""asyncio on the default event loop.

One ``asyncio.Runner`` for the worker's life: the loop is created once,
outside every timed window, and each request runs a coroutine from
``workloads.models.shared.asyncio_code`` on it (see there for the APIs used).
``http_server`` (uvicorn, aiohttp, the same parser) runs ``workloads.models.shared.asyncio_http``
on the same runner.
"""

from __future__ import annotations

import asyncio

from workloads.models.shared.asyncio_code import RunnerModel
from workloads.models.shared.asyncio_http import http_server_on

_runner = asyncio.Runner()
_model = RunnerModel(_runner)

sleep_fanout = _model.sleep_fanout
tcp_echo_server = _model.tcp_echo_server
tcp_client = _model.tcp_client
timeout_cancel = _model.timeout_cancel
cpu_mixed = _model.cpu_mixed
ping_pong = _model.ping_pong
leftovers = _model.leftovers
http_server = http_server_on(_runner)
