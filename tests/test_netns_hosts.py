"""The two-hosts fixture (``tests/netns_hosts.py``): ssh reaches the peer namespace, and nothing is left behind."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.netns_hosts import TwoHosts, two_hosts, unavailable_reason

pytestmark = pytest.mark.skipif(unavailable_reason() is not None, reason=unavailable_reason() or "")

TIMEOUT_S = 60
"""Per command: generous, for a busy machine (nothing here asserts on time)."""

ECHO_SERVER = """
import socket, sys
listener = socket.create_server((sys.argv[1], int(sys.argv[2])))
print(listener.getsockname()[1], flush=True)
listener.settimeout(60)
connection, _ = listener.accept()
with connection:
    connection.settimeout(60)
    data = b""
    while not data.endswith(b"\\n"):
        chunk = connection.recv(4096)
        if not chunk:
            break
        data += chunk
    connection.sendall(b"echo:" + data)
"""
"""Listens on (host, port), prints its port, accepts one connection and echoes one line back prefixed."""

ECHO_CLIENT = """
import socket, sys
with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=30) as connection:
    connection.sendall(b"hello from the peer\\n")
    reply = b""
    while not reply.endswith(b"\\n"):
        chunk = connection.recv(4096)
        if not chunk:
            break
        reply += chunk
print(reply.decode().strip())
"""

CONNECT = """
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10).close()
except OSError as error:
    print(type(error).__name__)
else:
    print("connected")
"""


@pytest.fixture(scope="module")
def hosts() -> Iterator[TwoHosts]:
    with two_hosts() as made:
        yield made


def run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT_S, stdin=subprocess.DEVNULL)


def remote_python(hosts: TwoHosts, code: str, *args: str) -> list[str]:
    """ssh to the peer and run this interpreter (same filesystem) there on ``code``."""
    return hosts.ssh(shlex.join([sys.executable, "-c", code, *args]))


def test_ssh_runs_a_command_in_the_peer_namespace(hosts: TwoHosts) -> None:
    done = run(hosts.ssh("ip -4 -o addr show"))
    assert done.returncode == 0, done.stderr
    assert f"inet {hosts.peer_address}/" in done.stdout
    assert f"inet {hosts.server_address}/" not in done.stdout
    here = run(hosts.in_server_ns(["ip", "-4", "-o", "addr", "show"]))
    assert f"inet {hosts.server_address}/" in here.stdout
    assert f"inet {hosts.peer_address}/" not in here.stdout


def test_no_route_leaves_the_namespaces(hosts: TwoHosts) -> None:
    for ns in (hosts.server_ns, hosts.peer_ns):
        routes = run(["ip", "-n", ns, "-4", "route", "show"]).stdout
        assert "default" not in routes, routes
        assert len(routes.strip().splitlines()) == 1, routes  # the veth's own /30 only


def test_the_peer_reaches_a_server_in_the_server_namespace_over_ssh(hosts: TwoHosts) -> None:
    server = subprocess.Popen(
        hosts.in_server_ns([sys.executable, "-c", ECHO_SERVER, hosts.server_address, "0"]),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        port = server.stdout.readline().strip()
        assert port.isdigit(), server.stderr.read() if server.stderr else ""
        done = run(remote_python(hosts, ECHO_CLIENT, hosts.server_address, port))
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "echo:hello from the peer"
        assert server.wait(TIMEOUT_S) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def test_loopback_is_per_namespace(hosts: TwoHosts) -> None:
    """A listener on every address of the peer is reached at the peer's address, not at 127.0.0.1 of the server."""
    listener = subprocess.Popen(
        hosts.in_peer_ns([sys.executable, "-c", ECHO_SERVER, "0.0.0.0", "0"]),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert listener.stdout is not None
        port = listener.stdout.readline().strip()
        assert port.isdigit(), listener.stderr.read() if listener.stderr else ""
        loopback = run(hosts.in_server_ns([sys.executable, "-c", CONNECT, "127.0.0.1", port]))
        assert loopback.stdout.strip() == "ConnectionRefusedError", loopback.stdout + loopback.stderr
        direct = run(hosts.in_server_ns([sys.executable, "-c", CONNECT, hosts.peer_address, port]))
        assert direct.stdout.strip() == "connected", direct.stdout + direct.stderr
    finally:
        listener.kill()
        listener.wait()


def test_nothing_is_left_after_the_context_exits() -> None:
    with two_hosts() as made:
        sshd_pid = made.sshd_pid
        assert run(made.ssh("true")).returncode == 0
        session = subprocess.Popen(made.ssh("sleep 600"), stdin=subprocess.DEVNULL)  # still running at exit
        tmp = made.ssh_config.parent
    session.wait(TIMEOUT_S)
    names = run(["ip", "netns", "list"]).stdout.split()
    assert made.server_ns not in names
    assert made.peer_ns not in names
    assert not tmp.exists()
    assert not Path(f"/run/netns/{made.peer_ns}").exists()
    try:
        os.kill(sshd_pid, 0)
    except ProcessLookupError:
        pass
    else:  # the pid may have been reused since, but not by an sshd running our (deleted) config
        assert str(tmp) not in Path(f"/proc/{sshd_pid}/cmdline").read_bytes().decode(errors="replace")
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            assert str(tmp) not in cmdline, f"process {entry.name} still runs: {cmdline!r}"
    links = run(["ip", "-o", "link", "show"]).stdout
    assert f"cb{os.getpid()}-" not in links


def test_an_exception_inside_the_context_still_cleans_up() -> None:
    with pytest.raises(KeyboardInterrupt), two_hosts() as made:
        raise KeyboardInterrupt
    names = run(["ip", "netns", "list"]).stdout.split()
    assert made.server_ns not in names
    assert made.peer_ns not in names
