"""A model's worker process: serves workload requests from the pytest process.

Started as ``python -m workloads.worker MODEL REQUEST_FD REPLY_FD`` in a fresh
interpreter, one per model and test, so monkey patching, reactors and event
loops never leak between models. For gevent and eventlet the monkey patching
below is the first thing this module executes; the model modules check that
it happened and refuse to run otherwise.

The loop is deliberately plain: read a request frame, run one round of a
workload through the model, reply. Timing happens inside the model's code via
``workloads.window.Window``; this loop adds only the checks and the memory
readings around it, all outside the timed window.
"""

import sys

if __name__ == "__main__":
    _MODEL_NAME = sys.argv[1] if len(sys.argv) > 1 else ""
    if _MODEL_NAME == "gevent":
        from gevent import monkey

        monkey.patch_all()
    elif _MODEL_NAME == "eventlet":
        import eventlet

        eventlet.monkey_patch()

import importlib
from types import ModuleType
from typing import Any

from workloads import memory
from workloads.child_loop import raise_open_files_limit, serve_requests
from workloads.echo_support import ServerControl
from workloads.protocol import read_frame, write_frame
from workloads.registry import ALL_MODELS
from workloads.rounds import WORKLOADS

_idle_rss_bytes: int | None = None
"""Resident memory of the worker before its first round: the baseline every round's peak is measured from.

Not the memory just before each round: after the first round the allocators keep the pages they
got, so a later round's growth over its own start reads as nearly nothing."""


def run_round(model: ModuleType, request: dict[str, Any]) -> dict[str, Any]:
    """One checked round of a workload, with the round's peak memory."""
    global _idle_rss_bytes
    workload = request["workload"]
    if workload not in WORKLOADS:
        raise ValueError(f"unknown workload {workload!r}; known: {', '.join(WORKLOADS)}")
    implementation = getattr(model, workload, None)
    if implementation is None:
        raise NotImplementedError(f"model {model.__name__} does not implement {workload}")
    if _idle_rss_bytes is None:
        prepare = getattr(model, "prepare", None)
        if prepare is not None:  # fixed set-up a model does once (a process pool), outside every window
            prepare()
        _idle_rss_bytes = memory.current_rss_bytes()
    memory.reset_peak_rss()
    outcome = WORKLOADS[workload](implementation, request.get("params", {}))
    outcome["metrics"]["baseline_rss_bytes"] = _idle_rss_bytes
    outcome["metrics"]["peak_rss_bytes"] = memory.peak_rss_bytes()
    setup_metrics = getattr(model, "setup_metrics", None)
    if setup_metrics is not None:  # one-off costs outside every window, e.g. process-pool start-up
        outcome["metrics"].update(setup_metrics())
    return outcome


def serve_echo(
    model: ModuleType, variants: tuple[str, ...], request: dict[str, Any], request_fd: int, reply_fd: int
) -> dict[str, Any]:
    """Run the model's echo server until the harness sends ``stop`` on the request pipe.

    The model announces its port (sent at once as a ``listening`` frame), then
    waits for the request pipe to become readable with its own primitive; the
    ``stop`` frame itself is read here, after the model has closed its sockets.
    """
    variant = request.get("variant", "default")
    if variant not in variants:
        raise ValueError(f"model {model.__name__} has no echo variant {variant!r}; it has {', '.join(variants)}")

    def announce(port: int) -> None:
        write_frame(reply_fd, {"ok": True, "event": "listening", "port": port})

    control = ServerControl(request_fd, announce)
    model.tcp_echo_server(variant, control)
    if control.port is None:
        raise RuntimeError("the echo server returned without ever listening")
    stop = read_frame(request_fd)
    if stop.get("op") != "stop":
        raise RuntimeError(f"the echo server returned before it was asked to stop (next request: {stop})")
    return {"event": "stopped"}


def main(model_name: str, request_fd: int, reply_fd: int) -> int:
    raise_open_files_limit()
    entry = ALL_MODELS[model_name]
    model = importlib.import_module(entry.module)
    return serve_requests(
        request_fd,
        reply_fd,
        {
            "run": lambda request: run_round(model, request),
            "serve_echo": lambda request: serve_echo(model, entry.echo_variants, request, request_fd, reply_fd),
        },
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
