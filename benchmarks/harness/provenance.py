"""What a reader needs to reproduce a saved run: the command, the profile, the worker environment, the machine.

Saved under ``corobench.environment`` in the run's JSON and shown in the report's reproduce box:
the exact command, the profile, ``pip freeze`` of the environment the workers run in, the cores
the run could use, the Python build, and the load average when the run started and ended (a
loaded machine is a caveat on every number).
"""

from __future__ import annotations

import os
import platform
import shlex
import subprocess
import sys
import sysconfig
from collections.abc import Sequence
from typing import Any


def load_average() -> list[float]:
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return []


def python_build() -> str:
    """``free-threaded`` for a build without the GIL (PEP 703), else ``default``."""
    return "free-threaded" if sysconfig.get_config_var("Py_GIL_DISABLED") else "default"


def pip_freeze() -> list[str]:
    """The installed distributions of this interpreter (the workers' own), or why they could not be listed."""
    try:
        result = subprocess.run(
            [sys.executable, "-m", "pip", "freeze", "--all"], capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return [f"# pip freeze failed: {exc}"]
    if result.returncode != 0:
        return [f"# pip freeze failed: {result.stderr.strip()[:200]}"]
    return result.stdout.splitlines()


def describe_environment(args: Sequence[str], profile: str, load_at_start: list[float]) -> dict[str, Any]:
    return {
        "command": shlex.join(["pytest", *args]),
        "profile": profile,
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "python_build": python_build(),
        "cores": len(os.sched_getaffinity(0)),
        "cpu_count": os.cpu_count(),
        "load_average_start": load_at_start,
        "load_average_end": load_average(),
        "pip_freeze": pip_freeze(),
    }
