"""Whole benchmark sessions: options, results, isolation and clean-up."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.session_runner import processes_tagged, run_benchmarks

EXPECTED_SLEEP_FANOUT_KEYS = {
    "model",
    "workload",
    "params",
    "versions",
    "overhead_per_task_s",
    "peak_rss_bytes",
    "rss_per_task_bytes",
}


@pytest.mark.parametrize(
    ("option", "complaint"),
    [
        ("--models=asyncio,nope", "--models: unknown 'nope'; valid: greenlet, gevent, eventlet"),
        ("--workloads=bogus", "--workloads: unknown 'bogus'; valid: sleep_fanout"),
        ("--profile=huge", "--profile: unknown 'huge'; valid: quick, default, full"),
        ("--models=", "--models needs at least one name"),
    ],
)
def test_bad_options_are_usage_errors_that_list_the_valid_names(option: str, complaint: str) -> None:
    session = run_benchmarks(option, "--benchmark-disable")
    assert session.returncode == 4, session.output
    assert complaint in session.output


def test_a_quick_session_records_every_model_and_leaves_nothing_behind(tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    session = run_benchmarks(
        "--profile=quick",
        "--workloads=sleep_fanout",
        "--models=gevent,eventlet,twisted,asyncio",
        f"--benchmark-json={out}",
    )
    assert session.returncode == 0, session.output
    assert "imported" not in session.output, "the pytest process imported a model library"
    assert processes_tagged(session.tag) == []
    saved = json.loads(out.read_text())
    benchmarks = saved["benchmarks"]
    environment = saved["corobench"]["environment"]
    assert environment["profile"] == "quick" and "--profile=quick" in environment["command"]
    assert any(line.lower().startswith("gevent==") for line in environment["pip_freeze"])
    assert environment["cores"] >= 1 and len(environment["load_average_end"]) == 3
    schema = saved["corobench"]["workloads"]["sleep_fanout"]
    assert {m["key"] for m in schema["metrics"]} >= {"overhead_per_task_s", "rss_per_task_bytes"}
    assert {(b["extra_info"]["model"], b["extra_info"]["params"]["n"]) for b in benchmarks} == {
        (model, n) for model in ("gevent", "eventlet", "twisted", "asyncio") for n in (1000,)
    }
    for bench in benchmarks:
        assert bench["extra_info"].keys() >= EXPECTED_SLEEP_FANOUT_KEYS
        assert bench["group"] == f"sleep_fanout[n={bench['extra_info']['params']['n']},delay=0.01]"
        assert bench["stats"]["rounds"] == 3
        assert bench["stats"]["min"] >= 0.01, "no round can beat the 10 ms sleep"


def test_an_echo_session_leaves_no_process_or_listening_socket(tmp_path: Path) -> None:
    """Servers, load generators, reference servers and the hybrid's pool children all end with the session."""
    out = tmp_path / "echo.json"
    session = run_benchmarks(
        "--profile=quick",
        "--workloads=tcp_echo,tcp_client",
        "--models=multiprocess_asyncio,threads,gevent",
        f"--benchmark-json={out}",
        "--no-report",
    )
    assert session.returncode == 0, session.output
    assert processes_tagged(session.tag) == [], "a process of the session (and so its sockets) outlived it"
    for bench in json.loads(out.read_text())["benchmarks"]:
        info = bench["extra_info"]
        assert info["pinned_to_separate_cores"] is (len(os.sched_getaffinity(0)) >= 2)
        if info["workload"] == "tcp_echo":
            assert info["throughput_msgs_per_s"] > 0 and 0 < info["server_cpu_util"] <= 1.5
