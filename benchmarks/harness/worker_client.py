"""The pytest side of a helper process: start it, send requests, bound every wait.

A model's worker (``python -m workloads.runtime.worker MODEL``, under the ``--python``
interpreter of its cell when one is given), the echo load generator and the reference echo
server (always the pytest process's interpreter: fixed code) are each a fresh interpreter in its own process
group, talking over two dedicated pipes passed with ``pass_fds``; its
stdout and stderr go to a temporary file whose tail is quoted when it fails.
Any fault (crash, hang past the deadline, a broken frame) kills the whole
process group and raises ``WorkerFailed`` naming the model and the cause; the
caller then starts a fresh worker for the next test.
"""

from __future__ import annotations

import os
import re
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any, NoReturn

from benchmarks.harness.peer_host import PEER_PYTHON, PeerHost
from workloads.runtime.protocol import encode, take_frame

REPO_ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 60.0
STDERR_TAIL_CHARS = 2000
TRACEBACK_LAST_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b.*")
"""The line a Python traceback ends with (``ModuleNotFoundError: No module named 'gevent'``)."""


def worker_executable(python: str | None) -> str:
    """The executable a helper process runs: ``python`` (a ``--python`` cell's environment) or else the pytest
    process's own ``sys.executable`` exactly as it is.

    Never resolved with ``os.path.realpath``: a virtual environment's ``bin/python`` is a link to its base
    interpreter, and starting the link's target drops the venv's site-packages (every model library). This is
    the one place that decides; every worker, peer and generator is started through ``WorkerClient``.
    """
    return python or sys.executable


class WorkerFailed(RuntimeError):
    """The worker crashed, hung, or broke the protocol; it has been killed."""


class WorkloadFailed(AssertionError):
    """The worker answered, but the round failed (wrong result or an exception)."""


class WorkerClient:
    """A child interpreter running ``python -m MODULE *ARGS REQUEST_FD REPLY_FD``."""

    def __init__(
        self,
        model: str,
        env: dict[str, str] | None = None,
        module: str = "workloads.runtime.worker",
        python: str | None = None,
        peer_host: PeerHost | None = None,
    ) -> None:
        """Start ``module`` (by default a model's worker, named ``model``) and wait for its hello.

        ``python`` is the interpreter to start (``--python``); by default the pytest process's own. With
        ``peer_host`` the child runs on that host instead, over ssh: the protocol's frames travel on the ssh
        client's stdin and stdout (``workloads.runtime.remote_peer`` on the far side), ``env`` is set there, and
        ``pid`` is the local ssh client's (the far side's is in ``hello``).
        """
        self.model = model
        self.peer_host = peer_host
        self.python = (
            f"{peer_host.suite}/{PEER_PYTHON} on {peer_host.destination}" if peer_host else worker_executable(python)
        )
        """The executable this child runs (named when it fails to start)."""
        self._busy = False
        self._buffer = bytearray()
        self._log: IO[bytes] = tempfile.TemporaryFile(prefix=f"corobench-{model}-")  # noqa: SIM115 (closed in close())
        request_read, self._request_write = os.pipe()
        self._reply_read, reply_write = os.pipe()
        try:
            if peer_host is not None:  # the pipes are the ssh client's stdin and stdout: the channel
                self._process = subprocess.Popen(
                    peer_host.peer_argv(module, model, env),
                    stdin=request_read,
                    stdout=reply_write,
                    stderr=self._log,
                    start_new_session=True,
                )
            else:
                self._process = subprocess.Popen(
                    [self.python, "-m", module, model, str(request_read), str(reply_write)],
                    pass_fds=(request_read, reply_write),
                    stdin=subprocess.DEVNULL,
                    stdout=self._log,
                    stderr=self._log,
                    cwd=REPO_ROOT,
                    env={**os.environ, **(env or {}), "PYTHONPATH": _python_path()},
                    start_new_session=True,
                )
        finally:
            os.close(request_read)
            os.close(reply_write)
        self.hello = self.receive(STARTUP_TIMEOUT_S, "start-up")
        self.listening: dict[str, Any] = {}
        """The ``listening`` frame of the echo server this worker serves (its port and one-off set-up)."""
        self.stopped: dict[str, Any] = {}
        """The reply to the last server's ``stop``: its ``setup`` as the server left it (connections per loop)."""
        self.pid: int = self._process.pid if peer_host else self.hello["pid"]

    # -- requests -----------------------------------------------------------

    def run_round(self, workload: str, params: Any, timeout_s: float, variant: str | None = None) -> dict[str, Any]:
        """Run one round of ``variant`` (the model's default when None); returns ``quanta`` and ``metrics``."""
        request = {"op": "run", "workload": workload, "params": params, "variant": variant or "default"}
        return self.call(request, timeout_s, f"{workload} {params}")

    def call(self, message: dict[str, Any], timeout_s: float, context: str) -> dict[str, Any]:
        """Send a request and return its reply; a failed reply raises WorkloadFailed naming ``context``."""
        reply = self.request(message, timeout_s)
        if not reply.get("ok"):
            raise failure_from_reply(f"{self.model} {context}", reply)
        return reply

    def request(self, message: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        self.send(message)
        reply = self.receive(timeout_s, f"request {message.get('workload', message.get('op'))}")
        self._busy = False
        return reply

    def send(self, message: dict[str, Any]) -> None:
        """Send a request; the child counts as busy until ``request`` has its reply."""
        self._busy = True
        try:
            os.write(self._request_write, encode(message))
        except OSError as exc:
            self._fail(f"could not send a request ({exc})")

    # -- lifecycle ----------------------------------------------------------

    def close(self) -> None:
        """Ask an idle child to exit, then make sure its whole process group is gone.

        A child still busy with a request (the test failed or was interrupted
        mid-round) is killed at once: waiting for it would delay Ctrl-C.
        """
        if self._process.poll() is None and not self._busy:
            try:
                os.write(self._request_write, encode({"op": "exit"}))
                self._process.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self._kill_group()
        for fd in (self._request_write, self._reply_read):
            try:
                os.close(fd)
            except OSError:
                pass
        self._log.close()

    def __enter__(self) -> WorkerClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    # -- internals ----------------------------------------------------------

    def receive(self, timeout_s: float, what: str) -> dict[str, Any]:
        """The next frame from the child; kills it and raises WorkerFailed past ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        with selectors.DefaultSelector() as selector:
            selector.register(self._reply_read, selectors.EVENT_READ)
            while (frame := self._take_frame(what)) is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not selector.select(remaining):
                    self._fail(f"no answer to {what} within {timeout_s:g} s (hung?)")
                chunk = os.read(self._reply_read, 1 << 16)
                if not chunk:
                    self._process.wait(timeout=5)
                    if self.peer_host is not None:
                        self._fail_remote(what)
                    status = _describe_status(self._process.returncode)
                    if what == "start-up":  # most often an environment without the model's library: say which
                        self._fail(f"exited during start-up with {status}, running {self.python}{self._lacked()}")
                    self._fail(f"exited during {what} with {status}")
                self._buffer += chunk
        return frame

    def _take_frame(self, what: str) -> dict[str, Any] | None:
        try:
            return take_frame(self._buffer)
        except ValueError as exc:
            return self._fail(f"sent a broken frame during {what}: {exc}")

    def _fail(self, cause: str) -> NoReturn:
        self._kill_group()
        raise WorkerFailed(f"{self.model} worker {cause}{self._stderr_tail()}")

    def _fail_remote(self, what: str) -> NoReturn:
        """The ssh channel ended: one line saying why (no host, refused keys, no suite, dropped mid-run)."""
        assert self.peer_host is not None
        cause = self.peer_host.cause(self._process.returncode, self._log_text())
        if what != "start-up":
            cause = f"the SSH channel to {self.peer_host.destination} ended during {what}: {cause}"
        self._kill_group()
        raise WorkerFailed(f"{self.model}: {cause}{self._stderr_tail()}")

    def _kill_group(self) -> None:
        try:
            os.killpg(self._process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass

    def _lacked(self) -> str:
        """``: <the traceback's last line>`` (e.g. ``ModuleNotFoundError: No module named 'gevent'``), or ''."""
        text = self._log_text()
        lines = [line for line in text.splitlines() if line.strip()]
        last = next((line.strip() for line in reversed(lines) if TRACEBACK_LAST_LINE.match(line)), None)
        return f": {last}" if last else ""

    def _log_text(self) -> str:
        try:
            self._log.seek(0)
            return self._log.read().decode(errors="replace").strip()
        except (OSError, ValueError):
            return ""

    def _stderr_tail(self) -> str:
        text = self._log_text()
        if not text:
            return ""
        return "\n--- worker stderr (tail) ---\n" + text[-STDERR_TAIL_CHARS:]


def failure_from_reply(context: str, reply: dict[str, Any]) -> WorkloadFailed:
    """One readable first line (context, kind, the error's last line), then the child's full report."""
    error = str(reply.get("error", "no error text")).strip()
    lines = error.splitlines() or ["no error text"]
    headline = f"{context}: {reply.get('kind', 'error')}: {lines[-1]}"
    return WorkloadFailed(headline if len(lines) == 1 else f"{headline}\n{error}")


def _describe_status(returncode: int | None) -> str:
    if returncode is None:
        return "an unknown status"
    if returncode < 0:
        return f"signal {signal.Signals(-returncode).name}"
    return f"exit status {returncode}"


def _python_path() -> str:
    existing = os.environ.get("PYTHONPATH")
    return f"{REPO_ROOT}{os.pathsep}{existing}" if existing else str(REPO_ROOT)
