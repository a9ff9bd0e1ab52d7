"""The load generator on a second host over SSH (``--peer-host``), tested across two network namespaces.

The option checks and the fault messages are tested directly. The rest runs the real suite: two
namespaces joined by veth, Debian's sshd in the peer's (``tests.netns_hosts``), and
``pytest benchmarks --peer-host=… --bind=…`` in the server's. That checks three things:

- echo and latency cells run with their generator behind SSH, checked as on one host, and the run records
  both hosts and the idle round trip;
- an unreachable host, refused keys and a peer without the suite each end the cell with a one-line cause;
- ``kill -9`` of the ssh client mid-cell leaves no process on either side within 10 s, and the cells
  already measured are kept.

These tests skip with the reason where namespaces, root or OpenSSH are unavailable.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks.harness.peer_host import PeerHost, PeerHostError, parse_peer_host
from tests.netns_hosts import TwoHosts, two_hosts, unavailable_reason

REPO = Path(__file__).resolve().parents[1]
GONE_WITHIN_S = 10.0


# -- the options and the causes, without a second host ---------------------------------------------------------


@pytest.mark.parametrize(
    ("destination", "bind", "complaint"),
    [
        ("peer", None, "--peer-host needs --bind"),
        ("peer", "0.0.0.0", "every interface"),
        ("peer", "::1", "IPv4 only"),
        ("peer", "peer.example", "expected an IP address"),
        ("peer", "192.0.2.77", "not an address of this machine"),
        ("-oProxyCommand=x", "127.0.0.1", "expected [user@]host"),
        (None, "127.0.0.1", "--bind is for --peer-host"),
    ],
)
def test_bad_peer_options_are_one_line_usage_errors(destination: str | None, bind: str | None, complaint: str) -> None:
    with pytest.raises(PeerHostError, match=complaint.replace("[", r"\[").replace("]", r"\]")) as raised:
        parse_peer_host(destination, bind, None, None)
    assert "\n" not in str(raised.value)


def test_no_peer_host_is_none() -> None:
    assert parse_peer_host(None, None, None, None) is None


@pytest.mark.parametrize(
    ("returncode", "stderr", "says"),
    [
        (255, "ssh: connect to host 10.0.0.9 port 22: No route to host", "is unreachable"),
        (255, "ssh: Could not resolve hostname nowhere: Name or service not known", "is unreachable"),
        (255, "root@10.0.0.2: Permission denied (publickey).", "refused our keys"),
        (1, "bash: line 1: cd: /srv/corobench: No such file or directory", "has no corobench suite at /srv/corobench"),
        (127, "env: '.venv/bin/python': No such file or directory", "has no corobench suite"),
        (-9, "", "ended by SIGKILL"),
    ],
)
def test_every_fault_has_a_one_line_cause(returncode: int, stderr: str, says: str) -> None:
    peer = PeerHost("root@peer", "127.0.0.1", "/srv/corobench")
    cause = peer.cause(returncode, f"some earlier line\n{stderr}\n")
    assert says in cause and "\n" not in cause
    assert "root@peer" in cause


def test_the_remote_command_quotes_every_word_and_sets_the_bind_address() -> None:
    peer = PeerHost("peer", "10.1.2.3", "/srv/my suite")
    command = peer.remote_command(["-m", "workloads.runtime.remote_peer", "workloads.peers.load_generator", "g"])
    assert command.startswith("cd '/srv/my suite' && exec env COROBENCH_BIND=10.1.2.3 ")
    assert command.endswith(".venv/bin/python -m workloads.runtime.remote_peer workloads.peers.load_generator g")
    argv = peer.ssh_argv(command)
    assert argv[0] == "ssh" and "BatchMode=yes" in argv and argv[-2:] == ["--", command]


# -- across two namespaces ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hosts() -> Iterator[TwoHosts]:
    reason = unavailable_reason()
    if reason:
        pytest.skip(f"two hosts on one machine are unavailable here: {reason}")
    with two_hosts() as made:
        yield made


def suite_command(hosts: TwoHosts, storage: Path, *options: str) -> list[str]:
    """``pytest benchmarks`` in the server namespace, its peers on the peer namespace's sshd."""
    return hosts.in_server_ns(
        [
            sys.executable,
            "-m",
            "pytest",
            "benchmarks",
            "--profile=quick",
            f"--ssh-config={hosts.ssh_config}",
            f"--bind={hosts.server_address}",
            f"--benchmark-storage={storage}",
            "--benchmark-autosave",
            "--no-report",
            "-q",
            "-p",
            "no:cacheprovider",
            *options,
        ]
    )


def saved_run(storage: Path) -> dict[str, Any]:
    files = sorted(storage.rglob("*.json"))
    assert files, f"nothing saved under {storage}"
    run: dict[str, Any] = json.loads(files[-1].read_text())
    return run


def test_echo_and_latency_cells_run_with_the_generator_behind_ssh(hosts: TwoHosts, tmp_path: Path) -> None:
    command = suite_command(
        hosts, tmp_path, f"--peer-host={hosts.peer_alias}", "--models=asyncio", "--workloads=tcp_echo,tcp_latency"
    )
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    run = saved_run(tmp_path)
    placement = run["corobench"]["placement"]
    assert placement["hosts"] == 2 and placement["bind"] == hosts.server_address
    for side in ("server_host", "peer_host"):
        assert {"cpu_model", "cores", "kernel", "python"} <= set(placement[side])
    assert placement["peer_host"]["destination"] == hosts.peer_alias
    assert 0 < placement["round_trip_us"]["min"] <= placement["round_trip_us"]["median"]
    cells = run["benchmarks"]
    assert {c["extra_info"]["workload"] for c in cells} == {"tcp_echo", "tcp_latency"}
    for cell in cells:
        info = cell["extra_info"]
        assert info["peer_host"] == hosts.peer_alias
        assert info["cores_given"] == len(os.sched_getaffinity(0)), "the server gets every core here"
        if info["workload"] == "tcp_latency":
            assert info["rates"] and all(
                rate["messages_not_echoed"] == 0 for rate in info["rates"] if rate["kind"] != "overload"
            )


def one_failed_cause(hosts: TwoHosts, tmp_path: Path, *options: str) -> str:
    """Run one echo cell with ``options``; the one-line cause its failure was saved with."""
    command = suite_command(hosts, tmp_path, "--models=asyncio", "--workloads=tcp_echo,sleep_fanout", *options)
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0, done.stdout[-2000:]
    record = saved_run(tmp_path)
    failed = record["corobench"]["failed_cells"]
    assert failed and all("tcp_echo" in f["test"] for f in failed), failed
    assert any(c["extra_info"]["workload"] == "sleep_fanout" for c in record["benchmarks"]), "the other cells ran"
    causes = {f["cause"] for f in failed}
    assert len(causes) == 1, causes
    cause = causes.pop()
    assert "\n" not in cause
    return cause


def test_an_unreachable_host_ends_the_cell_with_one_line(hosts: TwoHosts, tmp_path: Path) -> None:
    nobody = hosts.server_address.rsplit(".", 1)[0] + ".3"  # inside the veth's /30, answered by no one
    cause = one_failed_cause(hosts, tmp_path, f"--peer-host=root@{nobody}")
    assert f"peer host root@{nobody} is unreachable" in cause


def test_refused_keys_end_the_cell_with_one_line(hosts: TwoHosts, tmp_path: Path) -> None:
    config = tmp_path / "no-key.config"
    config.write_text(hosts.ssh_config.read_text().replace("IdentityFile ", "IdentityFile /nonexistent-key # ") + "\n")
    storage = tmp_path / "runs"
    command = suite_command(hosts, storage, f"--peer-host={hosts.peer_alias}", "--models=asyncio")
    command = [word if not word.startswith("--ssh-config=") else f"--ssh-config={config}" for word in command]
    done = subprocess.run(
        [*command, "--workloads=tcp_echo,sleep_fanout"], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert done.returncode != 0
    failed = saved_run(storage)["corobench"]["failed_cells"]
    assert failed and all(f"peer host {hosts.peer_alias} refused our keys" in f["cause"] for f in failed), failed


def test_a_peer_without_the_suite_ends_the_cell_with_one_line(hosts: TwoHosts, tmp_path: Path) -> None:
    cause = one_failed_cause(hosts, tmp_path, f"--peer-host={hosts.peer_alias}", "--peer-suite=/nonexistent/corobench")
    assert "has no corobench suite at /nonexistent/corobench" in cause and "pip install -e ." in cause


def namespace_processes(namespace: str) -> dict[int, str]:
    """pid -> command line of every process in ``namespace``."""
    pids = subprocess.run(["ip", "netns", "pids", namespace], capture_output=True, text=True, check=True).stdout
    found = {}
    for pid in map(int, pids.split()):
        try:
            found[pid] = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except OSError:
            continue
    return found


def suite_processes(namespace: str) -> dict[int, str]:
    """The suite's processes in ``namespace``: its peers and workers (not sshd, not the pytest run itself)."""
    return {
        pid: line
        for pid, line in namespace_processes(namespace).items()
        if ("workloads." in line or line.startswith("ssh ")) and "pytest" not in line
    }


def test_killing_the_ssh_client_mid_cell_leaves_nothing_running(hosts: TwoHosts, tmp_path: Path) -> None:
    command = suite_command(
        hosts, tmp_path, f"--peer-host={hosts.peer_alias}", "--models=asyncio", "--workloads=tcp_echo,tcp_latency"
    )
    run = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 300
        ssh_client = None
        while ssh_client is None and time.monotonic() < deadline and run.poll() is None:
            remote = suite_processes(hosts.peer_ns)
            if any("open_loop_generator" in line for line in remote.values()):  # tcp_latency's sweep has begun
                ssh_client = next(
                    (p for p, line in suite_processes(hosts.server_ns).items() if line.startswith("ssh ")), None
                )
            time.sleep(0.2)
        assert ssh_client is not None, "the latency cell's generator never started on the peer"
        os.kill(ssh_client, signal.SIGKILL)
        killed_at = time.monotonic()
        while suite_processes(hosts.peer_ns) and time.monotonic() - killed_at < GONE_WITHIN_S:
            time.sleep(0.2)
        assert not suite_processes(hosts.peer_ns), "left on the peer host"
        output, _ = run.communicate(timeout=300)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert not suite_processes(hosts.server_ns), "left on the server's host"
    record = saved_run(tmp_path)
    failed = record["corobench"]["failed_cells"]
    assert [f["test"] for f in failed] and all("tcp_latency" in f["test"] for f in failed), output[-2000:]
    assert all("SSH channel" in f["cause"] and "\n" not in f["cause"] for f in failed), failed
    assert any(c["extra_info"]["workload"] == "tcp_echo" for c in record["benchmarks"]), "measured cells are kept"
