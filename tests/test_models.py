"""Every model is correct through its real worker: fan-out, timeouts, CPU work, hand-offs, echo server and client."""

from __future__ import annotations

import socket
import sys
import threading

import pytest

from benchmarks.harness.echo_harness import echo_server, load_generator, reference_server
from benchmarks.harness.worker_client import WorkerClient, WorkloadFailed
from workloads.models.registry import MODELS, installed_models
from workloads.runtime.errors import WrongResult
from workloads.runtime.window import Window
from workloads.specs import ping_pong
from workloads.specs.echo_data import ECHO_HOST, expected_crc, message

ECHO_CASES = [
    (model, variant)
    for model in installed_models()
    if not MODELS[model].reason_cannot("tcp_echo") and not MODELS[model].reason_too_old(tuple(sys.version_info[:3]))
    for variant in MODELS[model].variants_of("tcp_echo")
]
"""Every echo server this interpreter can run (subinterpreters need 3.12+: tests/test_multiloop_server.py runs them
on 3.13)."""
LARGER_THAN_SOCKET_BUFFERS = 8 * 1024 * 1024


def variant_env(model: str, variant: str) -> dict[str, str]:
    """The environment the harness starts a worker of this variant with (e.g. gevent's ``tuned`` setting)."""
    return dict(MODELS[model].variant_env.get(variant, {}))


@pytest.fixture(params=installed_models())
def worker(request: pytest.FixtureRequest) -> WorkerClient:
    client = WorkerClient(request.param)
    request.addfinalizer(client.close)
    if client.hello.get("cannot"):  # e.g. subinterpreters on 3.11: the harness skips these cells with the reason
        pytest.skip(f"{request.param}: {client.hello['cannot']}")
    return client


def test_sleep_fanout_returns_every_index_once(worker: WorkerClient) -> None:
    reply = worker.run_round("sleep_fanout", {"n": 300, "delay": 0.005}, timeout_s=60)
    assert reply["quanta"] > 0
    assert 0.004 < reply["metrics"]["shortest_sleep_s"] < 10 and reply["metrics"]["early_wakeups"] >= 0
    assert reply["metrics"]["peak_rss_bytes"] >= reply["metrics"]["baseline_rss_bytes"] > 0


def test_timeout_cancel_completes_exactly_the_early_tasks(worker: WorkerClient) -> None:
    if reason := MODELS[worker.model].reason_cannot("timeout_cancel"):
        pytest.skip(reason)
    for seed in (1, 2):  # the second round also checks that no task of the first completed late
        reply = worker.run_round("timeout_cancel", {"n": 200, "deadline": 0.1, "seed": seed}, timeout_s=60)
        assert reply["metrics"]["completed"] + reply["metrics"]["cancelled"] == 200


def test_cpu_mixed_returns_every_result(worker: WorkerClient) -> None:
    reply = worker.run_round("cpu_mixed", {"n": 20, "delay": 0.005, "work": 2000}, timeout_s=60)
    assert reply["quanta"] > 0 and reply["metrics"]["task_cpu_s"] > 0


def test_ping_pong_hands_every_token_over(worker: WorkerClient) -> None:
    for variant in MODELS[worker.model].variants_of("ping_pong"):
        reply = worker.run_round("ping_pong", {"handoffs": 1000}, timeout_s=60, variant=variant)
        assert reply["quanta"] > 0 and reply["metrics"]["handoffs"] == 1000


class _FakeHandOffs:
    """A stand-in model whose ping_pong returns the tokens it was given, as if handed over."""

    def __init__(self, ping_tokens: list[int], pong_tokens: list[int]) -> None:
        self.tokens = ping_tokens, pong_tokens

    def ping_pong(self, variant: str, handoffs: int, window: Window) -> tuple[list[int], list[int]]:
        with window:
            return self.tokens


PING_10, PONG_10 = [2, 4, 6, 8, 10], [1, 3, 5, 7, 9]


def test_the_ping_pong_check_passes_exact_hand_offs() -> None:
    reply = ping_pong.WORKLOAD.run_round(_FakeHandOffs(PING_10, PONG_10), "default", {"handoffs": 10})
    assert reply["metrics"] == {"handoffs": 10}


@pytest.mark.parametrize(
    ("ping_tokens", "pong_tokens", "complaint"),
    [
        ([2, 4, 6, 8], PONG_10, r"ping received 4 tokens in 10 hand-offs, expected 5"),  # the last hand-off lost
        ([2, 4, 6, 8, 10, 12], PONG_10, r"ping received 6 tokens"),  # one too many
        ([2, 4, 7, 8, 10], PONG_10, r"hand-off 6: ping received token 7 as its token #3"),  # wrong increment
        (PING_10, [1, 3, 3, 7, 9], r"hand-off 5: pong received token 3"),  # a token handed over twice
        (PONG_10, PING_10, r"hand-off 1: pong received token 2"),  # the sides swapped
        ([], [], r"pong received 0 tokens"),
    ],
)
def test_the_ping_pong_check_catches_a_wrong_hand_off(
    ping_tokens: list[int], pong_tokens: list[int], complaint: str
) -> None:
    with pytest.raises(WrongResult, match=complaint):
        ping_pong.WORKLOAD.run_round(_FakeHandOffs(ping_tokens, pong_tokens), "default", {"handoffs": 10})


@pytest.mark.parametrize("handoffs", [0, 1, 7])
def test_ping_pong_refuses_an_odd_or_empty_round(handoffs: int) -> None:
    with pytest.raises(ValueError, match="even number of hand-offs"):
        ping_pong.WORKLOAD.run_round(_FakeHandOffs([], []), "default", {"handoffs": handoffs})


def test_tcp_client_gets_every_byte_back(worker: WorkerClient) -> None:
    if reason := MODELS[worker.model].reason_cannot("tcp_client"):
        pytest.skip(reason)
    params = {"connections": 5, "message_size": 70_000, "round_trips": 3}
    with reference_server() as server:
        reply = worker.run_round("tcp_client", {**params, "port": server.hello["port"]}, timeout_s=60)
    assert reply["metrics"]["messages"] == 15


def echo_once(port: int, payload: bytes) -> bytes:
    """Send ``payload`` while reading the echo concurrently (it may exceed every buffer)."""
    with socket.create_connection((ECHO_HOST, port), timeout=30) as sock:
        sender = threading.Thread(target=sock.sendall, args=(payload,))
        sender.start()
        received = bytearray()
        while len(received) < len(payload):
            chunk = sock.recv(1 << 20)
            if not chunk:
                break
            received += chunk
        sender.join()
    return bytes(received)


@pytest.mark.parametrize(("model", "variant"), ECHO_CASES)
def test_echo_server_is_byte_exact_and_survives_bad_clients(model: str, variant: str) -> None:
    with WorkerClient(model, env=variant_env(model, variant)) as worker, echo_server(worker, variant) as port:
        for payload in (b"x", message(1, 1000), message(2, LARGER_THAN_SOCKET_BUFFERS)):
            assert echo_once(port, payload) == payload
        # A client that vanishes mid-message, politely and with a reset.
        for linger_reset in (False, True):
            sock = socket.create_connection((ECHO_HOST, port), timeout=10)
            if linger_reset:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            sock.sendall(message(3, 200_000)[:150_000])
            sock.close()
        # Several clients at once, each checked, after the bad ones.
        results: dict[int, bytes] = {}
        threads = [
            threading.Thread(target=lambda i=i: results.__setitem__(i, echo_once(port, message(i, 50_000))))
            for i in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert all(results[i] == message(i, 50_000) for i in range(4))


def test_the_load_generator_detects_a_corrupted_echo() -> None:
    with (
        WorkerClient(
            "faulty", env={"COROBENCH_EXTRA_MODELS": "tests.models", "COROBENCH_FAULT": "corrupt_echo"}
        ) as worker,
        echo_server(worker, None) as port,
        load_generator() as generator,
    ):
        generator.call({"op": "connect", "port": port, "connections": 2, "message_size": 64}, 30, "connect")
        with pytest.raises(WorkloadFailed, match=r"connection \d, message offset 1: echoed byte"):
            generator.call({"op": "round", "messages": 10}, 30, "faulty corrupt echo")


def test_the_expected_crc_matches_the_messages() -> None:
    import zlib

    assert expected_crc(4, 3000, 2) == zlib.crc32(message(4, 3000) * 2)
    assert message(0, 10) != message(1, 10)


def listening_addresses(port: int) -> set[str]:
    """Local addresses of sockets listening on ``port`` (from /proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as rows:
            next(rows)
            for row in rows:
                local, state = row.split()[1], row.split()[3]
                address, port_hex = local.split(":")
                if state == "0A" and int(port_hex, 16) == port:
                    found.add(address)
    return found


@pytest.mark.parametrize(("model", "variant"), ECHO_CASES)
def test_echo_servers_listen_on_loopback_only(model: str, variant: str) -> None:
    with WorkerClient(model, env=variant_env(model, variant)) as worker, echo_server(worker, variant) as port:
        assert listening_addresses(port) == {"0100007F"}, "the server accepts connections from outside 127.0.0.1"
