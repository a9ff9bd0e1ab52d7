"""The request loop shared by the suite's child processes (worker, load generator).

A child says hello (its pid), then answers one request frame at a time with a
handler chosen by the request's ``op``, until ``exit`` or the pipe closes. A
handler's ``WrongResult`` becomes a ``wrong_result`` reply and any other
exception an ``error`` reply with its traceback: the child keeps serving.
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import traceback
from collections.abc import Callable
from typing import Any

from workloads.runtime.errors import WrongResult
from workloads.runtime.protocol import ChannelClosed, read_frame, write_frame

Handler = Callable[[dict[str, Any]], dict[str, Any]]


def serve_requests(
    request_fd: int, reply_fd: int, handlers: dict[str, Handler], hello: dict[str, Any] | None = None
) -> int:
    """Say hello (with ``hello``'s extra fields), then serve until ``exit`` or the pipe closes."""
    die_with_parent()
    write_frame(reply_fd, {"ok": True, "pid": os.getpid(), **(hello or {})})
    while True:
        try:
            request = read_frame(request_fd)
        except ChannelClosed:
            return 0
        op = request.get("op")
        if op == "exit":
            return 0
        handler = handlers.get(op) if isinstance(op, str) else None
        if handler is None:
            reply: dict[str, Any] = {"ok": False, "kind": "bad_request", "error": f"unknown op {op!r}"}
        else:
            reply = answer(handler, request)
        write_frame(reply_fd, reply)


def answer(handler: Handler, request: dict[str, Any]) -> dict[str, Any]:
    try:
        return {"ok": True, **handler(request)}
    except WrongResult as exc:
        return {"ok": False, "kind": "wrong_result", "error": str(exc)}
    except Exception:
        return {"ok": False, "kind": "error", "error": traceback.format_exc()}


def die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies, so nothing is orphaned."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def raise_open_files_limit() -> None:
    """Lift the soft open-files limit to the hard limit (C=1000 connections need it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):
            pass
