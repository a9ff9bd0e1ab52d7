"""The peers (load generators) on a second host, started over OpenSSH: ``--peer-host``, ``--bind``.

On one host the load generator takes a core from the server under test. With
``--peer-host=[user@]host --bind=ADDRESS`` the server-side workloads (``REMOTE_PEER_WORKLOADS``) run
their generators on that host instead, and the server under test gets every core here:

- **Transport.** ``ssh`` with the user's own keys and config (plus ``--ssh-config`` when given), in
  batch mode (no prompt can hang a run), runs ``python -m workloads.runtime.remote_peer MODULE NAME``
  in the suite's checkout on the peer (``--peer-suite``, by default this checkout's path) with its
  ``.venv``'s Python. The worker protocol runs over the channel's stdin and stdout
  (``WorkerClient`` with a ``PeerHost``); no daemon of our own runs anywhere.
- **Addresses.** Every server under test binds ``ADDRESS`` only (``COROBENCH_BIND``, read as
  ``workloads.specs.echo_data.ECHO_HOST``), never a wildcard; the remote generators connect to it.
- **What a run records** (``placement``): both hosts' descriptions (``workloads.runtime.host_facts``:
  CPU model, cores, kernel, Python, the peers' C loops) and the idle round trip from the peer to
  ``ADDRESS``, measured once before the cells against a one-connection echo listener here.
- **Faults** end the cell with one line (``cause``): an unreachable host, refused keys, no suite on the
  peer, or a channel that drops mid-cell. Killing the local ssh client closes the channel, and
  ``remote_peer`` then kills the peer's process group on the far side.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from benchmarks.harness.interpreters import REPO_ROOT
from workloads.runtime import host_facts
from workloads.specs.echo_data import BIND_ENV

REMOTE_PEER_WORKLOADS = ("tcp_echo", "tcp_latency", "http_server", "http_latency")
"""The workloads whose peer is a load generator driving the model's server: these move to the peer host."""
PEER_PYTHON = ".venv/bin/python"
"""The peer's interpreter, relative to its suite checkout: the README's quick start makes it."""
SSH_OPTIONS = ("BatchMode=yes", "ConnectTimeout=10", "ServerAliveInterval=2", "ServerAliveCountMax=3")
"""No password or passphrase prompt; give up on a silent host or a dead channel within seconds."""
PROBE_TIMEOUT_S = 60.0
FORWARDED_ENV = ("COROBENCH_GENERATOR", "COROBENCH_GENERATOR_SLEEP", "COROBENCH_ALLOCATOR_STATE")
"""The peers' own settings (``benchmarks.harness.settings``), passed on to the peer host when set here."""


class PeerHostError(RuntimeError):
    """The peer host could not be used; the message is one line naming the host and the cause."""


@dataclass(frozen=True)
class PeerHost:
    destination: str
    """``[user@]host`` as ssh takes it (a ``Host`` of the user's ssh config works too)."""
    bind: str
    """This host's address that the peer reaches: the servers under test bind it, the peers connect to it."""
    suite: str
    """The suite's checkout on the peer host."""
    ssh_config: str | None = None

    def ssh_argv(self, remote_command: str) -> list[str]:
        config = ["-F", self.ssh_config] if self.ssh_config else []
        options = [word for option in SSH_OPTIONS for word in ("-o", option)]
        return ["ssh", *config, *options, "-T", self.destination, "--", remote_command]

    def remote_command(self, argv: list[str], env: Mapping[str, str] | None = None) -> str:
        """``cd SUITE && exec env K=V … .venv/bin/python ARGV…`` for the remote shell, every word quoted."""
        settings = {BIND_ENV: self.bind, **{k: os.environ[k] for k in FORWARDED_ENV if k in os.environ}, **(env or {})}
        assignments = [f"{key}={value}" for key, value in settings.items()]
        words = ["exec", "env", *assignments, PEER_PYTHON, *argv]
        return f"cd {shlex.quote(self.suite)} && " + shlex.join(words)

    def peer_argv(self, module: str, name: str, env: Mapping[str, str] | None = None) -> list[str]:
        """The local command that starts peer ``module`` on the peer host, speaking the protocol on its stdio."""
        return self.ssh_argv(self.remote_command(["-m", "workloads.runtime.remote_peer", module, name], env))

    def cause(self, returncode: int | None, stderr: str) -> str:
        """One line saying why the peer host could not run a peer, from ssh's exit status and stderr."""
        lines = [line.strip() for line in stderr.splitlines() if line.strip()]
        last = lines[-1] if lines else f"exit status {returncode}"
        text = stderr.lower()
        if returncode is not None and returncode < 0:
            return f"peer host {self.destination}: the ssh client here ended by {signal.Signals(-returncode).name}"
        if "permission denied" in text or "too many authentication failures" in text:
            return f"peer host {self.destination} refused our keys: {last}"
        if "host key verification failed" in text:
            return f"peer host {self.destination}: its host key is not in known_hosts: {last}"
        if returncode == 255 or "could not resolve" in text or "connection refused" in text or "timed out" in text:
            return f"peer host {self.destination} is unreachable: {last}"
        if "no such file or directory" in text or returncode == 127:
            return (
                f"peer host {self.destination} has no corobench suite at {self.suite} (install it there with "
                f"`pip install -e .` in a .venv, or name it with --peer-suite): {last}"
            )
        return f"peer host {self.destination}: the peer ended with exit status {returncode}: {last}"


def parse_peer_host(
    destination: str | None, bind: str | None, suite: str | None, ssh_config: str | None
) -> PeerHost | None:
    """The ``--peer-host`` options checked: a usage error names the first problem; None without ``--peer-host``."""
    if destination is None:
        for option, value in (("--bind", bind), ("--peer-suite", suite), ("--ssh-config", ssh_config)):
            if value is not None:
                raise PeerHostError(f"{option} is for --peer-host (the peers on another host); give both or neither")
        return None
    if not destination.strip() or destination.startswith("-"):
        raise PeerHostError(f"--peer-host={destination!r}: expected [user@]host")
    if bind is None:
        raise PeerHostError(
            "--peer-host needs --bind=ADDRESS: this machine's address that the peer host reaches (the servers "
            "under test listen on it, and on nothing else)"
        )
    try:
        address = ipaddress.ip_address(bind)
    except ValueError:
        raise PeerHostError(f"--bind={bind!r}: expected an IP address of this machine") from None
    if address.is_unspecified:
        raise PeerHostError(f"--bind={bind}: every interface; name the one address the peer host reaches")
    if address.version != 4:
        raise PeerHostError(f"--bind={bind}: the servers listen on IPv4 only; give this machine's IPv4 address")
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind((bind, 0))
    except OSError as exc:
        raise PeerHostError(f"--bind={bind}: not an address of this machine ({exc.strerror})") from None
    if ssh_config is not None and not os.path.isfile(ssh_config):
        raise PeerHostError(f"--ssh-config={ssh_config}: no such file")
    return PeerHost(destination.strip(), bind, suite or str(REPO_ROOT), ssh_config)


@contextmanager
def _echo_listener(bind: str) -> Iterator[int]:
    """A one-connection echo listener on ``bind`` for the round-trip probe, in a thread; yields its port."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind((bind, 0))
    listener.listen(1)
    listener.settimeout(PROBE_TIMEOUT_S)

    def echo() -> None:
        try:
            connection, _ = listener.accept()
        except OSError:
            return
        with connection:
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            while data := connection.recv(1 << 12):
                connection.sendall(data)

    thread = threading.Thread(target=echo, name="corobench-rtt-echo", daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()
        thread.join(timeout=5)


def describe_placement(peer: PeerHost | None) -> dict[str, Any]:
    """What a run records of where its sides ran: this host, and the peer host with the idle round trip.

    Raises ``PeerHostError`` (one line) when the peer host cannot be reached or cannot run the suite.
    """
    here = host_facts.describe()
    if peer is None:
        return {"hosts": 1, "server_host": here}
    with _echo_listener(peer.bind) as port:
        command = peer.ssh_argv(peer.remote_command(["-m", "workloads.runtime.host_facts", peer.bind, str(port)]))
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=PROBE_TIMEOUT_S, stdin=subprocess.DEVNULL
            )
        except subprocess.TimeoutExpired:
            raise PeerHostError(f"peer host {peer.destination} did not answer within {PROBE_TIMEOUT_S:g} s") from None
    if done.returncode != 0:
        raise PeerHostError(peer.cause(done.returncode, done.stderr))
    try:
        facts = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise PeerHostError(
            f"peer host {peer.destination} printed no host description: {done.stdout[-200:]!r}"
        ) from None
    round_trip = facts.pop("round_trip_us")
    return {
        "hosts": 2,
        "server_host": here,
        "peer_host": {"destination": peer.destination, "suite": peer.suite, **facts},
        "bind": peer.bind,
        "round_trip_us": round_trip,
    }


_current: PeerHost | None = None


def configure(peer: PeerHost | None) -> None:
    """Set the session's peer host (the plugin, once the options are checked)."""
    global _current
    _current = peer


def remote_peer_for(workload: str) -> PeerHost | None:
    """The peer host a cell of ``workload`` starts its peers on, or None (they run here)."""
    return _current if workload in REMOTE_PEER_WORKLOADS else None


def current() -> PeerHost | None:
    return _current


if __name__ == "__main__":  # a quick look: python -m benchmarks.harness.peer_host [user@]host ADDRESS
    print(json.dumps(describe_placement(parse_peer_host(sys.argv[1], sys.argv[2], None, None)), indent=2))
