"""Run from a virtual environment, as the README's quick start does: workers keep the venv's packages.

A venv's ``bin/python`` is a link to its base interpreter; a worker started through the link's target
runs without the venv's site-packages (every model library). The end-to-end test makes a real venv
(``python -m venv``), installs a copy of the project into it with pip, and runs a quick gevent cell
from it under ``--python`` naming its own version and another installed one. It takes a minute or two
(pip installs from its cache after the first time); the other interpreter's environment is the one the
main checkout caches under ``.corobench/venvs/`` (linked into the copy), so it is built at most once.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.harness.environments import prepare
from benchmarks.harness.interpreters import InterpreterError, parse_interpreters, resolve
from benchmarks.harness.worker_client import WorkerClient, WorkerFailed, worker_executable

REPO_ROOT = Path(__file__).resolve().parent.parent
MAIN_SPEC = f"{sys.version_info.major}.{sys.version_info.minor}"
OTHER_SPECS = ("3.13", "3.12", "3.11")
INSTALL_TIMEOUT_S = 1200
SESSION_TIMEOUT_S = 1200


def test_the_main_interpreter_runs_workers_as_sys_executable_unresolved() -> None:
    (main,) = parse_interpreters(MAIN_SPEC) or []
    assert main.is_main
    assert prepare(main, say=print).python == sys.executable
    assert worker_executable(None) == sys.executable
    with WorkerClient("asyncio") as worker:
        assert worker.python == sys.executable


def test_a_worker_that_dies_at_start_up_names_its_executable_and_what_it_lacked(tmp_path: Path) -> None:
    """A stand-in interpreter that fails the way a venv without gevent does: one line says both."""
    fake = tmp_path / "python"
    fake.write_text(
        "#!/bin/sh\n"
        'echo "Traceback (most recent call last):" >&2\n'
        'echo "  File \\"worker.py\\", line 1, in <module>" >&2\n'
        "echo \"ModuleNotFoundError: No module named 'gevent'\" >&2\n"
        "exit 1\n"
    )
    fake.chmod(0o755)
    with pytest.raises(WorkerFailed) as failed:
        WorkerClient("gevent", python=str(fake))
    first = str(failed.value).splitlines()[0]
    assert first == (
        f"gevent worker exited during start-up with exit status 1, running {fake}: "
        "ModuleNotFoundError: No module named 'gevent'"
    )


def _other_interpreter() -> str | None:
    for spec in OTHER_SPECS:
        if spec == MAIN_SPEC:
            continue
        try:
            resolve(spec)
        except InterpreterError:
            continue
        return spec
    return None


def _copy_project(destination: Path) -> None:
    """The project's files as git knows them (tracked, and untracked but not ignored), without build output."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        capture_output=True,
        check=False,
    )
    if listed.returncode != 0:
        pytest.skip(f"cannot list the project's files with git: {listed.stderr.decode(errors='replace').strip()}")
    for name in filter(None, listed.stdout.decode().split("\0")):
        source = REPO_ROOT / name
        if not source.is_file():
            continue  # deleted in the work tree
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


def test_a_venv_install_runs_cells_under_its_own_version_and_another(tmp_path: Path) -> None:
    other = _other_interpreter()
    if other is None:
        pytest.skip(f"needs a second interpreter besides {MAIN_SPEC} (one of {', '.join(OTHER_SPECS)})")
    project, venv = tmp_path / "corobench", tmp_path / "venv"
    _copy_project(project)
    cache = REPO_ROOT / ".corobench"
    cache.mkdir(exist_ok=True)
    (project / ".corobench").symlink_to(cache, target_is_directory=True)  # reuse the cached --python venvs
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(VIRTUAL_ENV=str(venv), PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}")
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", str(project)],
        env=env,
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_S,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    saved = tmp_path / "run.json"
    session = subprocess.run(
        [
            str(python),
            "-m",
            "pytest",
            "benchmarks",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--python={MAIN_SPEC},{other}",
            "--models=gevent",
            "--workloads=sleep_fanout",
            "--profile=quick",
            "--no-report",
            f"--benchmark-json={saved}",
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=SESSION_TIMEOUT_S,
    )
    assert session.returncode == 0, session.stdout[-4000:] + session.stderr[-4000:]
    run = json.loads(saved.read_text())
    interpreters = {i["spec"]: i for i in run["corobench"]["interpreters"]}
    assert interpreters[MAIN_SPEC]["worker_python"] == str(python)  # the venv's link, not its target
    assert interpreters[MAIN_SPEC]["venv"] is None
    cells = [(b["extra_info"]["model"], b["extra_info"]["interpreter"]) for b in run["benchmarks"]]
    assert ("gevent", MAIN_SPEC) in cells and ("gevent", other) in cells
    assert len(cells) == 2  # quick sleep_fanout: one size under each interpreter
