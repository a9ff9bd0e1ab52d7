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

import ctypes  # noqa: E402
import importlib  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import traceback  # noqa: E402
from types import ModuleType  # noqa: E402
from typing import Any  # noqa: E402

from workloads import memory  # noqa: E402
from workloads.protocol import ChannelClosed, read_frame, write_frame  # noqa: E402
from workloads.registry import ALL_MODELS  # noqa: E402
from workloads.checks import WrongResult  # noqa: E402
from workloads.rounds import WORKLOADS  # noqa: E402


def _die_with_parent() -> None:
    """Ask Linux to kill this worker if the pytest process dies (no orphans)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def handle(model: ModuleType, request: dict[str, Any]) -> dict[str, Any]:
    """Run one round as the request asks; never raises for a workload's fault."""
    workload = request.get("workload")
    if workload not in WORKLOADS:
        return {"ok": False, "kind": "bad_request", "error": f"unknown workload {workload!r}"}
    if not hasattr(model, workload):
        return {
            "ok": False,
            "kind": "unsupported",
            "error": f"model {model.__name__} does not implement {workload}",
        }
    memory.reset_peak_rss()
    baseline_rss = memory.current_rss_bytes()
    try:
        outcome = WORKLOADS[workload](getattr(model, workload), request.get("params", {}))
    except WrongResult as exc:
        return {"ok": False, "kind": "wrong_result", "error": str(exc)}
    except Exception:
        return {"ok": False, "kind": "error", "error": traceback.format_exc()}
    outcome["metrics"]["baseline_rss_bytes"] = baseline_rss
    outcome["metrics"]["peak_rss_bytes"] = memory.peak_rss_bytes()
    return {"ok": True, **outcome}


def serve(model_name: str, request_fd: int, reply_fd: int) -> int:
    model = importlib.import_module(ALL_MODELS[model_name].module)
    write_frame(reply_fd, {"ok": True, "model": model_name, "pid": os.getpid()})
    while True:
        try:
            request = read_frame(request_fd)
        except ChannelClosed:
            return 0
        if request.get("op") == "exit":
            return 0
        write_frame(reply_fd, handle(model, request))


if __name__ == "__main__":
    _die_with_parent()
    sys.exit(serve(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
