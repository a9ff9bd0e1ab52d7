"""A model's worker process: serves workload requests from the pytest process.

Started as ``python -m workloads.runtime.worker MODEL REQUEST_FD REPLY_FD`` in a fresh
interpreter, one per model and test, so monkey patching, reactors and event
loops never leak between models. For gevent and eventlet the monkey patching
below is the first thing this module executes; the model modules check that
it happened and refuse to run otherwise.

A model module that finds this interpreter lacking what it needs raises ``ModelUnavailable``
at import; that, or an import error, is reported in the hello (``cannot``) and every request
is refused, so the harness can skip the cell with the reason. Every round reports the
interpreter it ran on: version, implementation, build (``free-threaded`` when
``sysconfig.get_config_var("Py_GIL_DISABLED")``), and whether the GIL was enabled
(``sys._is_gil_enabled()``, 3.13+, read after the model's imports, before and after the round:
an extension module imported by the model can re-enable it, as gevent does on 3.14t; on
builds without the function the GIL is always on). The free-threaded paths follow the
documented APIs but are untested here: no free-threaded build was available.

The loop is deliberately plain: read a request frame, run one round of a
workload through the model, reply. Timing happens inside the model's code via
``workloads.runtime.window.Window``; this loop adds only the checks and the memory
readings around it, all outside the timed window.

Before the model is imported, ``allocator.prepare()`` puts glibc's allocator in the warm state a
long-running service is in (``workloads.runtime.allocator``; ``COROBENCH_ALLOCATOR_STATE=cold``
keeps the fresh-process state); the state observed is reported in the hello, the ``listening``
frame and every round.
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

import functools
import gc
import importlib
import importlib.metadata
import platform
import sysconfig
from collections.abc import Callable
from types import ModuleType
from typing import Any, cast

from workloads.interface import BY_NAME, ModelHooks, ModelInterface
from workloads.models.registry import DEFAULT_VARIANT, lookup
from workloads.runtime import allocator, collector, memory
from workloads.runtime.errors import ModelUnavailable
from workloads.runtime.protocol import read_frame, write_frame
from workloads.runtime.serve import raise_open_files_limit, serve_requests
from workloads.runtime.server_control import ServerControl
from workloads.runtime.window import Window
from workloads.specs.http_data import HttpApp

_frozen_objects: int = 0
"""Objects ``gc.freeze`` moved to the permanent generation (``frozen`` regime), once per worker."""
_idle_rss_bytes: int | None = None
"""Resident memory of the worker before its first round: the baseline every round's peak is measured from.

Not the memory just before each round: after the first round the allocators keep the pages they
got, so a later round's growth over its own start reads as nearly nothing."""


def checked_variant(model_name: str, workload: str, request: dict[str, Any]) -> str:
    """The variant a request names; none, or ``"default"``, means the model's default variant."""
    offered = lookup(model_name).variants_of(workload)
    variant = request.get("variant") or DEFAULT_VARIANT
    if variant == DEFAULT_VARIANT:
        variant = offered[0]
    if variant not in offered:
        raise ValueError(f"model {model_name} has no {workload} variant {variant!r}; it has {', '.join(offered)}")
    return str(variant)


def run_round(model_name: str, model: ModelInterface, request: dict[str, Any]) -> dict[str, Any]:
    """One checked round of a workload, with the round's peak memory."""
    global _idle_rss_bytes, _frozen_objects
    name = request["workload"]
    workload = BY_NAME.get(name)
    if workload is None or not workload.in_worker:
        runnable = [w.name for w in BY_NAME.values() if w.in_worker]
        raise ValueError(f"unknown workload {name!r} for a worker round; it runs {', '.join(runnable)}")
    variant = checked_variant(model_name, name, request)
    hooks = cast(ModelHooks, model)
    if _idle_rss_bytes is None:
        if hasattr(model, "prepare"):  # fixed set-up a model does once (a process pool), outside every window
            hooks.prepare()
        if collector.regime() == collector.FROZEN:  # the libraries are imported and the worker is ready
            _frozen_objects = collector.freeze_heap()
        _idle_rss_bytes = memory.current_rss_bytes()
    gc.collect()  # the last round's garbage is collected here, not inside this round's window
    allocator_state = allocator.state()
    memory.reset_peak_rss()
    gil_before = gil_enabled()
    Window.last_closed = Window.last_cpu_s = None
    regime = collector.regime()
    automatic_gc = regime != collector.OFF
    with collector.logged(automatic_gc) as collections:
        outcome = workload.run_round(model, variant, request.get("params", {}))
    gc_metrics = {
        **collections.metrics(Window.last_closed),
        "gc_automatic": automatic_gc,
        "gc_regime": regime,
        **collector.facts(_frozen_objects),
    }
    outcome["metrics"].update(interpreter_metrics(), gil_enabled=gil_before or gil_enabled())
    outcome["metrics"]["library_versions"] = dict(library_versions(model_name))  # read once per worker
    outcome["metrics"]["allocator_state"] = allocator_state
    outcome["metrics"].update(gc_metrics)
    if Window.last_cpu_s is not None:
        outcome["metrics"]["cpu_s"] = Window.last_cpu_s  # the worker's group, across the window
    outcome["metrics"]["baseline_rss_bytes"] = _idle_rss_bytes
    outcome["metrics"]["peak_rss_bytes"] = memory.peak_rss_bytes()
    outcome["metrics"].update(setup_metrics(model))
    if request.get("probe_leftovers"):  # only when asked: normal rounds pay nothing for it
        outcome["metrics"]["leftovers"] = leftovers(model)
    return outcome


def setup_metrics(model: ModelInterface) -> dict[str, Any]:
    """One-off costs outside every window (process-pool start-up) and the model's configuration."""
    if hasattr(model, "setup_metrics"):
        return dict(cast(ModelHooks, model).setup_metrics())
    return {}


def leftovers(model: ModelInterface) -> dict[str, Any]:
    """What the round left scheduled (``{"live": {...}}``), or why the model cannot tell (``{"unobservable": ...}``)."""
    if hasattr(model, "leftovers"):
        return {"live": cast(ModelHooks, model).leftovers()}
    reason = getattr(model, "LEFTOVERS_UNOBSERVABLE", None)
    if not reason:
        raise ValueError("this model has neither a leftovers() hook nor a LEFTOVERS_UNOBSERVABLE reason")
    return {"unobservable": str(reason)}


def gil_enabled() -> bool:
    """Whether the GIL is on now: ``sys._is_gil_enabled()`` (3.13+), else always (every older build has one)."""
    is_gil_enabled = getattr(sys, "_is_gil_enabled", None)
    return bool(is_gil_enabled()) if is_gil_enabled is not None else True


@functools.cache
def interpreter_metrics() -> dict[str, Any]:
    """The interpreter this worker runs: version, implementation and build."""
    return {
        "python": platform.python_version(),
        "python_implementation": sys.implementation.name,
        "python_build": "free-threaded" if sysconfig.get_config_var("Py_GIL_DISABLED") else "default",
    }


@functools.cache
def library_versions(model_name: str) -> dict[str, str]:
    """Versions of the model's distributions as installed for this interpreter (missing ones left out)."""
    found = {}
    for dist in lookup(model_name).distributions:
        try:
            found[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            pass
    return found


def load_model(model_name: str) -> tuple[ModuleType | None, dict[str, str]]:
    """The model's module, or None and why it cannot run here (sent in the hello)."""
    try:
        return importlib.import_module(lookup(model_name).module), {}
    except ModelUnavailable as exc:
        return None, {"cannot": str(exc), "cannot_kind": "unavailable"}
    except ImportError as exc:
        return None, {"cannot": f"{type(exc).__name__}: {exc}", "cannot_kind": "import_error"}


def serve_echo(
    model_name: str, model: ModelInterface, request: dict[str, Any], request_fd: int, reply_fd: int
) -> dict[str, Any]:
    """Run the model's echo server (``tcp_echo_server``) until the harness sends ``stop``."""
    variant = checked_variant(model_name, "tcp_echo", request)
    return serve_until_stopped(model, lambda control: model.tcp_echo_server(variant, control), request_fd, reply_fd)


def serve_http(
    model_name: str, model: ModelInterface, request: dict[str, Any], request_fd: int, reply_fd: int
) -> dict[str, Any]:
    """Run the model's HTTP server (``http_server``) for the request's body size and IO time until ``stop``."""
    variant = checked_variant(model_name, "http_server", request)
    app = HttpApp.of(int(request["body_size"]), float(request["io_ms"]))
    return serve_until_stopped(model, lambda control: model.http_server(variant, control, app), request_fd, reply_fd)


def serve_until_stopped(
    model: ModelInterface, serve: Callable[[ServerControl], None], request_fd: int, reply_fd: int
) -> dict[str, Any]:
    """Run one of the model's servers until the harness sends ``stop`` on the request pipe.

    The model announces its port (sent at once as a ``listening`` frame), then
    waits for the request pipe to become readable with its own primitive; the
    ``stop`` frame itself is read here, after the model has closed its sockets.
    """
    regime = collector.regime()
    frozen = collector.freeze_heap() if regime == collector.FROZEN else 0

    def announce(port: int) -> None:
        listening = {
            "event": "listening",
            "port": port,
            "allocator_state": allocator.state(),
            "setup": setup_metrics(model),
            "gc_regime": regime,
            **collector.facts(frozen),
        }
        write_frame(reply_fd, {"ok": True, **listening})

    control = ServerControl(request_fd, announce)
    with collector.logged(regime != collector.OFF):
        serve(control)
    if control.port is None:
        raise RuntimeError("the server returned without ever listening")
    stop = read_frame(request_fd)
    if stop.get("op") != "stop":
        raise RuntimeError(f"the server returned before it was asked to stop (next request: {stop})")
    return {"event": "stopped", "setup": setup_metrics(model)}  # what only the end knows (connections per loop)


def main(model_name: str, request_fd: int, reply_fd: int) -> int:
    allocator.prepare()
    raise_open_files_limit()
    module, cannot = load_model(model_name)
    if module is None:

        def refuse(request: dict[str, Any]) -> dict[str, Any]:
            raise RuntimeError(f"model {model_name} cannot run in this interpreter: {cannot['cannot']}")

        return serve_requests(
            request_fd, reply_fd, {"run": refuse, "serve_echo": refuse, "serve_http": refuse}, hello=cannot
        )
    model = cast(ModelInterface, module)
    return serve_requests(
        request_fd,
        reply_fd,
        {
            "run": lambda request: run_round(model_name, model, request),
            "serve_echo": lambda request: serve_echo(model_name, model, request, request_fd, reply_fd),
            "serve_http": lambda request: serve_http(model_name, model, request, request_fd, reply_fd),
        },
        hello={
            **interpreter_metrics(),
            "gil_enabled": gil_enabled(),
            "library_versions": library_versions(model_name),
            "allocator_state": allocator.state(),
        },
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
