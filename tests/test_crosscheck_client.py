"""The cross-check's C echo client counts right echoes and refuses wrong or short ones (functional, not timed).

It is compiled as ``tests.crosscheck.independent_echo_client`` compiles it and run against small
echo servers started here (threads on 127.0.0.1, port 0): a correct one, one that flips one byte of
one echo, one that closes a connection half-way through an echo, and one that records what it got.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.crosscheck.independent_echo_client import HOST, NoCompiler, compile_client, run_client

# (connection index in accept order, stream offset, data) -> (the bytes to echo, keep the connection open)
Transform = Callable[[int, int, bytes], tuple[bytes, bool]]


def unchanged(index: int, offset: int, data: bytes) -> tuple[bytes, bool]:
    return data, True


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Path:
    try:
        return compile_client(tmp_path_factory.mktemp("xclient"))
    except NoCompiler as error:
        pytest.skip(str(error))


class EchoServer:
    """Echoes every connection in its own thread through ``transform``; keeps each one's first bytes."""

    def __init__(self, transform: Transform, keep: int) -> None:
        self.transform, self.keep = transform, keep
        self.listener = socket.create_server((HOST, 0))
        self.listener.settimeout(0.05)
        self.port: int = self.listener.getsockname()[1]
        self.received: list[bytearray] = []
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self.accept, daemon=True)]
        self.threads[0].start()

    def accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            self.received.append(bytearray())
            thread = threading.Thread(target=self.echo, args=(conn, len(self.received) - 1), daemon=True)
            self.threads.append(thread)
            thread.start()

    def echo(self, conn: socket.socket, index: int) -> None:
        offset = 0
        with conn, contextlib.suppress(ConnectionError):  # a client that failed resets its other connections
            while data := conn.recv(65536):
                kept = self.received[index]
                kept += data[: max(0, self.keep - len(kept))]
                reply, keep_open = self.transform(index, offset, data)
                conn.sendall(reply)
                if not keep_open:
                    return
                offset += len(data)

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(5)
        self.listener.close()


@contextmanager
def echo_server(transform: Transform = unchanged, keep: int = 0) -> Iterator[EchoServer]:
    server = EchoServer(transform, keep)
    try:
        yield server
    finally:
        server.stop()


def run(client: Path, port: int, *args: int | str) -> subprocess.CompletedProcess[str]:
    """Run the client by hand: one line on stdin starts it, end of input lets it close and exit."""
    command = [str(client), HOST, str(port), *map(str, args)]
    return subprocess.run(command, input="\n", capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("spin", [False, True], ids=["block", "spin"])
@pytest.mark.parametrize(("connections", "size", "messages"), [(10, 1024, 2000), (3, 200_000, 7), (4, 1, 3)])
def test_a_correct_server_gets_every_echo_counted(
    client: Path, connections: int, size: int, messages: int, spin: bool
) -> None:
    # 200 KB messages span several reads and partial sends; 7 on 3 connections and 3 on 4 leave quotas uneven.
    with echo_server() as server:
        readings = iter([1.0, 3.5])
        result = run_client(
            client, server.port, connections, size, messages, server_cpu=lambda: next(readings), spin=spin
        )
        assert result.messages == messages
        assert result.seconds > 0 and result.client_cpu_s >= 0
        assert result.server_cpu_s == 2.5  # read once before the start line, once after the report


def test_stdout_is_one_json_line_with_the_three_figures(client: Path) -> None:
    with echo_server() as server:
        done = run(client, server.port, 10, 1024, 500)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1
    report = json.loads(lines[0])
    assert set(report) == {"messages", "seconds", "client_cpu_s"}
    assert report["messages"] == 500 and report["seconds"] > 0
    assert done.stderr == "connected\n"


# Only each connection's first message is sure to be sent (the quota is shared, and a thread-per-
# connection server in Python lets one connection take most of it): later messages use one connection.
@pytest.mark.parametrize(
    ("connections", "target", "message", "offset"), [(1, 0, 3, 517), (10, 7, 0, 1023), (5, 4, 0, 0)]
)
@pytest.mark.parametrize("wait", ["block", "spin"])
def test_one_wrong_byte_fails_naming_the_connection_message_and_offset(
    client: Path, connections: int, target: int, message: int, offset: int, wait: str
) -> None:
    size = 1024
    at = message * size + offset

    def flip(index: int, start: int, data: bytes) -> tuple[bytes, bool]:
        if index != target or not start <= at < start + len(data):
            return data, True
        corrupt = bytearray(data)
        corrupt[at - start] ^= 0x01
        return bytes(corrupt), True

    with echo_server(flip) as server:
        done = run(client, server.port, connections, size, 200, 1, wait)
    assert done.returncode == 1
    assert f"connection {target}, message {message}: wrong echo at offset {offset}" in done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize(("connections", "target", "message"), [(4, 2, 0), (1, 0, 5)])
def test_a_short_echo_fails_naming_the_offset(client: Path, connections: int, target: int, message: int) -> None:
    size = 100
    at = message * size + 50

    def half(index: int, start: int, data: bytes) -> tuple[bytes, bool]:
        if index == target and start <= at < start + len(data):  # half of the message, then close
            return data[: at - start], False
        return data, True

    with echo_server(half) as server:
        done = run(client, server.port, connections, size, 100)
    assert done.returncode == 1
    expected = f"connection {target}, message {message}: short echo: the server closed the connection at offset 50"
    assert expected in done.stderr


def test_messages_differ_between_connections_messages_and_seeds(client: Path) -> None:
    size = 256
    firsts = []
    for seed in (1, 2):
        with echo_server(keep=size) as server:
            assert run(client, server.port, 3, size, 3, seed).returncode == 0
        firsts += [bytes(kept) for kept in server.received]
    assert len(set(firsts)) == 6 and all(len(first) == size for first in firsts)  # 3 connections x 2 seeds
    with echo_server(keep=2 * size) as server:
        assert run(client, server.port, 1, size, 2).returncode == 0
    (kept,) = server.received
    assert len(kept) == 2 * size and kept[:size] != kept[size:]  # an echo of the previous message is wrong


def test_it_sends_nothing_before_the_start_line_and_closes_only_after_the_second(client: Path) -> None:
    with echo_server(keep=10**6) as server:
        command = [str(client), HOST, str(server.port), "4", "64", "40"]
        with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
            assert proc.stdin and proc.stdout and proc.stderr
            assert proc.stderr.readline() == b"connected\n"
            time.sleep(0.2)
            assert len(server.received) == 4 and not any(server.received)
            proc.stdin.write(b"go\n")
            proc.stdin.flush()
            assert json.loads(proc.stdout.readline())["messages"] == 40
            time.sleep(0.2)
            assert proc.poll() is None and sum(t.is_alive() for t in server.threads[1:]) == 4
            proc.stdin.close()
            assert proc.wait(10) == 0
        assert sum(map(len, server.received)) == 40 * 64


def test_a_refused_connection_exits_2(client: Path) -> None:
    with socket.create_server((HOST, 0)) as probe:
        port = probe.getsockname()[1]
    done = run(client, port, 1, 16, 1)
    assert done.returncode == 2
    assert "failed" in done.stderr


@pytest.mark.parametrize("args", [(1, 16, 0), (1, 16, 1, 1, "sleep"), (0, 16, 1), (1, 16)])
def test_bad_arguments_exit_2_before_connecting(client: Path, args: tuple[int | str, ...]) -> None:
    with echo_server() as server:
        done = run(client, server.port, *args)
    assert done.returncode == 2 and not server.received
    assert "usage" in done.stderr or "must be an integer" in done.stderr
