"""Bad input to a benchmark session ends it with one line naming the input and the fix, and loses nothing.

Garbage in each of the suite's environment variables, an unknown profile, and two sessions saving into
one storage folder at once (each keeps its own numbered file, and the earlier runs stay). The reports
side's bad input (empty, corrupt or foreign JSON, an unwritable folder) is tested with the reports.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.harness.settings import SettingError, check_settings
from benchmarks.harness.storage_lock import StorageLock, storage_folder
from tests.session_runner import REPO_ROOT, run_benchmarks

GARBAGE = [
    ("COROBENCH_GENERATOR", "bogus", "expected one of c, python"),
    ("COROBENCH_GENERATOR_SLEEP", "yes", "expected 1 (the peers sleep) or 0/unset"),
    ("COROBENCH_ALLOCATOR_STATE", "lukewarm", "expected one of warm, cold"),
    ("COROBENCH_EXTRA_MODELS", "no.such.module", "cannot import it"),
    ("COROBENCH_CORES", "a,b", "the harness sets it for each worker"),
]


@pytest.mark.parametrize(("name", "value", "complaint"), GARBAGE)
def test_each_garbage_setting_is_named_with_what_it_accepts(name: str, value: str, complaint: str) -> None:
    with pytest.raises(SettingError) as error:
        check_settings({name: value})
    assert str(error.value).startswith(f"{name}={value!r}: ") and complaint in str(error.value)
    assert "\n" not in str(error.value)


def test_good_settings_pass() -> None:
    check_settings({"COROBENCH_GENERATOR": "python", "COROBENCH_GENERATOR_SLEEP": "1"})
    check_settings({"COROBENCH_ALLOCATOR_STATE": "cold", "COROBENCH_EXTRA_MODELS": "tests.models"})
    check_settings({})


def one_error_line(output: str) -> str:
    errors = [line for line in output.splitlines() if line.startswith("ERROR: ")]
    assert len(errors) == 1, output
    assert "Traceback" not in output and "INTERNALERROR" not in output, output
    return errors[0]


@pytest.mark.parametrize(("name", "value", "complaint"), GARBAGE[::2])
def test_a_session_with_a_garbage_setting_stops_with_one_line(name: str, value: str, complaint: str) -> None:
    session = run_benchmarks("--profile=quick", "--benchmark-disable", env={name: value}, timeout_s=120)
    assert session.returncode == pytest.ExitCode.USAGE_ERROR
    assert complaint in one_error_line(session.output)


def test_an_unknown_profile_is_one_line_listing_the_profiles() -> None:
    session = run_benchmarks("--profile=huge", "--benchmark-disable", timeout_s=120)
    assert session.returncode == pytest.ExitCode.USAGE_ERROR
    line = one_error_line(session.output)
    assert "huge" in line and all(p in line for p in ("quick", "default", "full"))


def test_the_storage_option_names_a_folder_or_nothing() -> None:
    assert storage_folder(None) == Path("./.benchmarks")
    assert storage_folder("file:///tmp/x") == Path("/tmp/x")
    assert storage_folder("runs") == Path("runs")
    assert storage_folder("elasticsearch+https://host/index") is None


def test_two_sessions_saving_at_once_keep_both_runs_and_the_earlier_ones(tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    earlier = storage / "0001_earlier.json"  # a file pytest-benchmark would not read (not in a machine folder)
    earlier.parent.mkdir(parents=True)
    earlier.write_text("{}")
    command = [
        sys.executable,
        "-m",
        "pytest",
        "benchmarks",
        "-q",
        "-p",
        "no:cacheprovider",
        "--models=asyncio",
        "--workloads=ping_pong",
        "--profile=quick",
        "--no-report",
        "--benchmark-autosave",
        f"--benchmark-storage=file://{storage}",
    ]
    sessions = [
        subprocess.Popen(command, cwd=REPO_ROOT, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for _ in range(2)
    ]
    outputs = [s.communicate(timeout=600)[0].decode(errors="replace") for s in sessions]
    assert [s.returncode for s in sessions] == [0, 0], outputs
    saved = sorted(p for p in storage.rglob("0*.json") if p != earlier)
    assert len(saved) == 2, saved
    assert len({p.name[:4] for p in saved}) == 2, saved  # numbered one after the other, not both the same
    for path in saved:
        run = json.loads(path.read_text())
        assert not run["corobench"]["partial"] and len(run["benchmarks"]) == 1, path
    assert earlier.read_text() == "{}"


def test_the_storage_lock_excludes_a_second_holder_until_released(tmp_path: Path) -> None:
    import fcntl

    lock = StorageLock(tmp_path / "storage")
    lock.acquire()
    other = os.open(lock.path, os.O_RDWR)
    try:
        with pytest.raises(BlockingIOError):
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        lock.release()
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free now
    finally:
        os.close(other)
