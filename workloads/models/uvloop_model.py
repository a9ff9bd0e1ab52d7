"""asyncio code on uvloop's event loop (libuv).

One ``asyncio.Runner`` for the worker's life: the loop is created once,
outside every timed window; uvloop 0.21+ is used through
``asyncio.Runner(loop_factory=uvloop.new_event_loop)`` (``uvloop.install`` and
the event-loop policy are deprecated). Each request runs a coroutine from
``workloads.models.shared.asyncio_code`` on it (see there for the APIs used). The ``eager``
variant sets ``asyncio.eager_task_factory`` through a wrapper that drops the ``eager_start=``
argument uvloop passes to task factories on 3.13+ (3.13's factory rejects it).
``http_server`` (uvicorn, aiohttp, the same parser) runs ``workloads.models.shared.asyncio_http``
on the same runner, so uvicorn and aiohttp serve on uvloop's loop.
"""

from __future__ import annotations

import asyncio

import uvloop

from workloads.models.shared.asyncio_code import RunnerModel, eager_factory_for_uvloop
from workloads.models.shared.asyncio_http import http_server_on

_runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
_model = RunnerModel(_runner, eager_factory=eager_factory_for_uvloop)

sleep_fanout = _model.sleep_fanout
tcp_echo_server = _model.tcp_echo_server
tcp_client = _model.tcp_client
timeout_cancel = _model.timeout_cancel
cpu_mixed = _model.cpu_mixed
ping_pong = _model.ping_pong
leftovers = _model.leftovers
http_server = http_server_on(_runner)
