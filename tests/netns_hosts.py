"""Two "hosts" on this one machine: two Linux network namespaces joined by a veth pair, sshd in one.

The suite will run its load generator on a second machine reached over ``ssh``, as a user does. A test
cannot count on a second machine, so ``two_hosts()`` makes one: a *server* namespace and a *peer*
namespace, each with only ``lo`` and one end of a veth pair (no default route, so no packet leaves
them), and Debian's OpenSSH server running in the peer namespace with a host key, a client key and a
config all made for the test in a temporary directory (``/etc/ssh`` and its host keys are never read).
From the server namespace, ``ssh -F hosts.ssh_config hosts.peer_alias CMD`` runs ``CMD`` in the peer
namespace, just as ``ssh`` reaches another machine.

On exit (also on an exception or KeyboardInterrupt) sshd is stopped, every process still in either
namespace is killed and both namespaces are deleted, which removes the veth pair with them.

Needs root, iproute2 (``ip``), openssh-server (``/usr/sbin/sshd``), openssh-client (``ssh``,
``ssh-keygen``) and the right to create network namespaces (CAP_SYS_ADMIN); ``unavailable_reason()``
says which is missing. ``.ci/run`` installs the packages.
"""

from __future__ import annotations

import functools
import itertools
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SSHD = "/usr/sbin/sshd"
PRIVSEP_DIR = Path("/run/sshd")
"""Debian's sshd refuses to start without its privilege-separation directory (normally made by systemd)."""
SERVER_ADDRESS = "10.231.0.1"
PEER_ADDRESS = "10.231.0.2"
PREFIX_LENGTH = 30
"""A /30 of 10/8 unlikely to be in use; it only exists inside the two namespaces anyway."""
SSH_PORT = 22
PEER_ALIAS = "corobench-peer"
READY_TIMEOUT_S = 15.0
"""How long sshd may take to answer a first ``ssh``: generous, for a busy machine."""

_instances = itertools.count()
"""Makes names unique within this process too (the pid makes them unique across processes)."""


@dataclass(frozen=True)
class TwoHosts:
    """The two namespaces, their addresses and the ssh client config that reaches the peer."""

    server_ns: str
    peer_ns: str
    server_address: str
    peer_address: str
    ssh_config: Path
    """An ssh client config (``ssh -F``) whose ``Host peer_alias`` is the peer's sshd."""
    peer_alias: str
    sshd_pid: int
    """sshd's pid (the listener in the peer namespace)."""

    def in_server_ns(self, argv: list[str]) -> list[str]:
        """``argv`` run in the server namespace."""
        return ["ip", "netns", "exec", self.server_ns, *argv]

    def in_peer_ns(self, argv: list[str]) -> list[str]:
        """``argv`` run in the peer namespace (directly, not over ssh)."""
        return ["ip", "netns", "exec", self.peer_ns, *argv]

    def ssh(self, *remote: str) -> list[str]:
        """``ssh`` from the server namespace to the peer, running ``remote`` there (a shell command line)."""
        return self.in_server_ns(["ssh", "-F", str(self.ssh_config), "-n", self.peer_alias, *remote])


def _run(argv: list[str], timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def _check(argv: list[str], timeout: float = 30) -> None:
    done = _run(argv, timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}): {(done.stderr or done.stdout).strip()}")


def _account_locked(user: str) -> bool:
    """Whether ``user``'s shadow password starts with ``!``: sshd without PAM then refuses even a key."""
    try:
        lines = Path("/etc/shadow").read_text().splitlines()
    except OSError:
        return False
    for line in lines:
        fields = line.split(":")
        if fields[0] == user and len(fields) > 1:
            return fields[1].startswith("!")
    return False


@functools.cache
def unavailable_reason() -> str | None:
    """Why the two hosts cannot be made here (one line), or None when they can."""
    if os.geteuid() != 0:
        return "two network namespaces need root (ip netns add)"
    if shutil.which("ip") is None:
        return "ip is not installed (Debian package iproute2)"
    if not os.access(SSHD, os.X_OK):
        return f"{SSHD} is not installed (Debian package openssh-server; .ci/run installs it)"
    for tool in ("ssh", "ssh-keygen"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (Debian package openssh-client; .ci/run installs it)"
    user = pwd.getpwuid(os.geteuid()).pw_name
    if _account_locked(user):
        return f"{user}'s account is locked ('!' in /etc/shadow): sshd without PAM refuses it (usermod -p '*' {user})"
    probe = f"cbprobe{os.getpid()}"
    try:
        added = _run(["ip", "netns", "add", probe])
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"ip netns add failed: {error}"
    if added.returncode != 0:
        message = added.stderr.strip().replace("\n", "; ")
        return f"cannot create a network namespace (needs CAP_SYS_ADMIN, e.g. not in this container): {message}"
    _run(["ip", "netns", "del", probe])
    return None


def _namespace_exists(name: str) -> bool:
    return name in _run(["ip", "netns", "list"]).stdout.split()


def _namespace_pids(name: str) -> list[int]:
    return [int(pid) for pid in _run(["ip", "netns", "pids", name]).stdout.split() if pid.isdigit()]


def _remove_namespace(name: str) -> None:
    """Kill every process in namespace ``name``, then delete it (with the interfaces in it)."""
    if not _namespace_exists(name):
        return
    deadline = time.monotonic() + 10
    while (pids := _namespace_pids(name)) and time.monotonic() < deadline:
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.05)
    _run(["ip", "netns", "del", name])


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(2)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def _keygen(path: Path, comment: str) -> None:
    _check(["ssh-keygen", "-t", "ed25519", "-N", "", "-q", "-C", comment, "-f", str(path)])


def _sshd_config(tmp: Path, user: str) -> str:
    return "\n".join(
        [
            f"ListenAddress {PEER_ADDRESS}:{SSH_PORT}",
            "AddressFamily inet",
            f"HostKey {tmp / 'host_key'}",
            f"PidFile {tmp / 'sshd.pid'}",
            f"AuthorizedKeysFile {tmp / 'authorized_keys'}",
            "AuthorizedPrincipalsFile none",
            f"AllowUsers {user}",
            "PermitRootLogin prohibit-password",
            "AuthenticationMethods publickey",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "HostbasedAuthentication no",
            "GSSAPIAuthentication no",
            "KerberosAuthentication no",
            "UsePAM no",
            # The temporary directory is not root's home: no owner/mode checks on it.
            "StrictModes no",
            # No pty, so no utmp/wtmp/lastlog record of the test's logins.
            "PermitTTY no",
            "PrintMotd no",
            "PrintLastLog no",
            "UseDNS no",
            "X11Forwarding no",
            "PermitUserEnvironment no",
            "LogLevel INFO",
            # The suite opens several sessions at once; do not throttle them.
            "MaxStartups 100:30:200",
            "MaxSessions 100",
            "",
        ]
    )


def _ssh_config(tmp: Path, user: str) -> str:
    return "\n".join(
        [
            f"Host {PEER_ALIAS}",
            f"    HostName {PEER_ADDRESS}",
            f"    Port {SSH_PORT}",
            f"    User {user}",
            f"    IdentityFile {tmp / 'client_key'}",
            "    IdentitiesOnly yes",
            "    IdentityAgent none",
            # known_hosts holds the test's host key under the alias: checked strictly, never written.
            f"    HostKeyAlias {PEER_ALIAS}",
            f"    UserKnownHostsFile {tmp / 'known_hosts'}",
            "    GlobalKnownHostsFile /dev/null",
            "    StrictHostKeyChecking yes",
            "    UpdateHostKeys no",
            "    CheckHostIP no",
            "    BatchMode yes",
            "    ConnectTimeout 5",
            "    RequestTTY no",
            "    ControlMaster no",
            "    ControlPath none",
            "    LogLevel ERROR",
            "",
        ]
    )


def _log_tail(log: Path, lines: int = 20) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no sshd log)"


def _wait_until_ssh_answers(hosts: TwoHosts, sshd: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while True:
        if sshd.poll() is not None:
            raise RuntimeError(f"sshd exited ({sshd.returncode}) before answering; its log:\n{_log_tail(log)}")
        try:
            done = _run(hosts.ssh("true"), timeout=max(1.0, min(10.0, deadline - time.monotonic())))
            if done.returncode == 0:
                return
            last = done.stderr.strip()
        except subprocess.TimeoutExpired:
            last = "ssh timed out"
        if time.monotonic() >= deadline:
            raise RuntimeError(
                f"sshd in {hosts.peer_ns} did not answer ssh within {timeout:g} s (last ssh error: {last}); "
                f"its log:\n{_log_tail(log)}"
            )
        time.sleep(0.1)


@contextmanager
def two_hosts(ready_timeout: float = READY_TIMEOUT_S) -> Iterator[TwoHosts]:
    """Make the two namespaces and the peer's sshd; yield them once ``ssh`` works; remove everything on exit."""
    if reason := unavailable_reason():
        raise RuntimeError(reason)
    pid, instance = os.getpid(), next(_instances)
    server_ns, peer_ns = f"cbsrv{pid}-{instance}", f"cbpeer{pid}-{instance}"
    server_if, peer_if = f"cb{pid}-{instance}s", f"cb{pid}-{instance}p"
    if len(server_if) > 15:
        raise RuntimeError(f"interface name {server_if!r} is longer than 15 characters")
    user = pwd.getpwuid(os.geteuid()).pw_name
    sshd: subprocess.Popen[bytes] | None = None
    with tempfile.TemporaryDirectory(prefix="corobench-netns-") as tmp_name:
        tmp = Path(tmp_name)
        try:
            for name in (server_ns, peer_ns):
                _remove_namespace(name)  # a leftover of a killed process that had this pid
                _check(["ip", "netns", "add", name])
            # Both ends are made inside their namespaces: the veth never appears on the host.
            veth = ["type", "veth", "peer", "name", peer_if, "netns", peer_ns]
            _check(["ip", "-n", server_ns, "link", "add", server_if, *veth])
            for ns, interface, address in ((server_ns, server_if, SERVER_ADDRESS), (peer_ns, peer_if, PEER_ADDRESS)):
                _check(["ip", "-n", ns, "addr", "add", f"{address}/{PREFIX_LENGTH}", "dev", interface])
                _check(["ip", "-n", ns, "link", "set", interface, "up"])
                _check(["ip", "-n", ns, "link", "set", "lo", "up"])

            _keygen(tmp / "client_key", "corobench-client")
            _keygen(tmp / "host_key", "corobench-host")
            (tmp / "authorized_keys").write_text((tmp / "client_key.pub").read_text())
            host_key_type, host_key = (tmp / "host_key.pub").read_text().split()[:2]
            (tmp / "known_hosts").write_text(f"{PEER_ALIAS} {host_key_type} {host_key}\n")
            config = tmp / "sshd_config"
            config.write_text(_sshd_config(tmp, user))
            ssh_config = tmp / "ssh_config"
            ssh_config.write_text(_ssh_config(tmp, user))
            ssh_config.chmod(0o600)  # ssh refuses a config others can write

            PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)
            tested = _run([SSHD, "-t", "-f", str(config)])
            if tested.returncode != 0:
                raise RuntimeError(f"sshd rejects its test config {config}: {(tested.stderr or tested.stdout).strip()}")

            log = tmp / "sshd.log"
            with log.open("wb") as log_file:
                sshd = subprocess.Popen(
                    ["ip", "netns", "exec", peer_ns, SSHD, "-D", "-e", "-f", str(config)],
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=log_file,
                    start_new_session=True,  # a terminal's Ctrl-C reaches us, and we stop sshd
                )
            hosts = TwoHosts(
                server_ns=server_ns,
                peer_ns=peer_ns,
                server_address=SERVER_ADDRESS,
                peer_address=PEER_ADDRESS,
                ssh_config=ssh_config,
                peer_alias=PEER_ALIAS,
                sshd_pid=sshd.pid,
            )
            _wait_until_ssh_answers(hosts, sshd, log, ready_timeout)
            yield hosts
        finally:
            if sshd is not None:
                _stop(sshd)
            for name in (server_ns, peer_ns):
                _remove_namespace(name)
