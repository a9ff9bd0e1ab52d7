"""``--python=SPEC[,SPEC...]``: which interpreters the workers run under, resolved and checked.

A spec is a version (``3.13``, ``3.13.0``, ``3.13t`` for a free-threaded build) or a path to an
interpreter. A version is looked up, in this order, on PATH (``python3.13``), with pyenv
(``pyenv prefix 3.13``, then ``$PYENV_ROOT/versions/3.13*``) and with uv (``uv python find 3.13``,
when uv is installed). Every candidate is run once with a small probe that reports its version,
implementation and build, so a pyenv shim that is not active, a broken link or a different version
is passed over and named in the error. A spec nothing answers, or one that finds an interpreter
older than the project's ``requires-python``, is an ``InterpreterError`` (the plugin turns it into
a usage error) naming what was tried and found.

The pytest process never changes interpreter: only the workers (and so the echo server under
test) run under the resolved one; ``benchmarks/harness/environments.py`` gives each one an
environment with the model libraries.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PROBE_TIMEOUT_S = 30.0
VERSION_SPEC = re.compile(r"^(?P<major>\d+)\.(?P<minor>\d+)(?:\.(?P<micro>\d+))?(?P<threaded>t)?$")
PROBE = """\
import json, platform, sys, sysconfig
print(json.dumps({
    "executable": sys.executable,
    "version": platform.python_version(),
    "version_info": list(sys.version_info[:3]),
    "implementation": sys.implementation.name,
    "free_threaded": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
    "prefix": sys.prefix,
}))
"""
"""Runs in the candidate interpreter: what it is. ``Py_GIL_DISABLED`` is the documented build flag."""


class InterpreterError(ValueError):
    """A ``--python`` spec names no usable interpreter."""


@dataclass(frozen=True)
class Interpreter:
    """One resolved ``--python`` spec."""

    spec: str
    """As the user wrote it; results record it as ``interpreter``."""
    executable: str
    """The interpreter itself (``sys.executable`` as it reports it), never a shim."""
    version: str
    version_info: tuple[int, int, int]
    implementation: str
    free_threaded: bool
    prefix: str

    @property
    def build(self) -> str:
        return "free-threaded" if self.free_threaded else "default"

    @property
    def is_main(self) -> bool:
        """The environment running pytest (it already has every model library).

        Compared by ``sys.prefix``, not by executable: a venv's python is a link to its base
        interpreter, yet the two have different libraries."""
        return os.path.realpath(self.prefix) == os.path.realpath(sys.prefix)

    @property
    def description(self) -> str:
        threaded = " (free-threaded)" if self.free_threaded else ""
        return f"{_implementation_name(self.implementation)} {self.version}{threaded} at {self.executable}"


def parse_interpreters(value: str | None) -> list[Interpreter] | None:
    """The interpreters ``--python`` names, in order; None when the option was not given."""
    if value is None:
        return None
    specs = [part.strip() for part in value.split(",") if part.strip()]
    if not specs:
        raise InterpreterError("--python needs at least one version (e.g. 3.13) or path to an interpreter")
    resolved: list[Interpreter] = []
    for spec in dict.fromkeys(specs):
        interpreter = resolve(spec)
        twin = next((other for other in resolved if _same_environment(other, interpreter)), None)
        if twin is not None:
            raise InterpreterError(
                f"--python: {twin.spec!r} and {spec!r} are the same interpreter ({interpreter.executable})"
            )
        resolved.append(interpreter)
    return resolved


def resolve(spec: str) -> Interpreter:
    """The interpreter ``spec`` names, checked to be new enough; InterpreterError naming what was tried."""
    match = VERSION_SPEC.match(spec)
    if match is None:
        interpreter, tried = _resolve_path(spec)
    else:
        interpreter, tried = _resolve_version(spec, match)
    if interpreter is None:
        raise InterpreterError(f"--python={spec}: no such interpreter; tried {'; '.join(tried)}")
    minimum = minimum_python()
    if interpreter.version_info[:2] < minimum:
        raise InterpreterError(
            f"--python={spec}: found {interpreter.description}, but corobench needs Python "
            f"{'.'.join(map(str, minimum))} or newer (requires-python in pyproject.toml)"
        )
    return interpreter


NEWEST_MINOR = 14
"""The newest Python 3 minor version ``newer_for`` looks for."""


def newer_for(needs: tuple[int, int]) -> Interpreter | None:
    """The newest Python 3 on this machine (PATH, pyenv, uv) that is at least ``needs``; None if there is none.

    A model named in ``--models`` that needs a newer Python than pytest's (``interpreters_asyncio``: 3.12+) runs
    under it rather than being skipped; the cell's id says which interpreter it ran under.
    """
    for minor in range(NEWEST_MINOR, needs[1] - 1, -1):
        try:
            return resolve(f"3.{minor}")
        except InterpreterError:
            continue
    return None


def minimum_python() -> tuple[int, int]:
    """The oldest Python the project supports, from ``requires-python`` (``>=3.11``) in pyproject.toml."""
    with open(REPO_ROOT / "pyproject.toml", "rb") as file:
        requires = tomllib.load(file)["project"]["requires-python"]
    found = re.search(r">=\s*(\d+)\.(\d+)", requires)
    if found is None:
        raise InterpreterError(f"pyproject.toml: cannot read a minimum version from requires-python {requires!r}")
    return int(found.group(1)), int(found.group(2))


def probe(executable: str) -> Interpreter | str:
    """Run ``executable`` with the probe: what it is, or why it could not say (a short reason)."""
    try:
        result = subprocess.run(
            [executable, "-I", "-c", PROBE], capture_output=True, text=True, timeout=PROBE_TIMEOUT_S, check=False
        )
    except OSError as exc:
        return f"cannot run ({exc.strerror or exc})"
    except subprocess.TimeoutExpired:
        return f"did not answer within {PROBE_TIMEOUT_S:g} s"
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        return f"exited with status {result.returncode}" + (f" ({lines[0].strip()})" if lines else "")
    try:
        found = json.loads(result.stdout.strip().splitlines()[-1])
        return Interpreter(
            spec="",
            executable=found["executable"] or executable,
            version=found["version"],
            version_info=(found["version_info"][0], found["version_info"][1], found["version_info"][2]),
            implementation=found["implementation"],
            free_threaded=bool(found["free_threaded"]),
            prefix=found["prefix"],
        )
    except (ValueError, KeyError, IndexError, TypeError):
        return f"answered the probe with {result.stdout.strip()[:80]!r}"


def _resolve_path(spec: str) -> tuple[Interpreter | None, list[str]]:
    path = os.path.expanduser(spec)
    if not os.path.exists(path):
        found = shutil.which(path)
        if found is None:
            return None, [f"{spec}: no such file, and not a version such as 3.13"]
        path = found
    answer = probe(path)
    if isinstance(answer, str):
        return None, [f"{path}: {answer}"]
    return _with_spec(answer, spec), []


def _resolve_version(spec: str, match: re.Match[str]) -> tuple[Interpreter | None, list[str]]:
    wanted = (int(match["major"]), int(match["minor"]), None if match["micro"] is None else int(match["micro"]))
    threaded = match["threaded"] is not None
    tried: list[str] = []
    running = probe(sys.executable)
    # The running interpreter first: from a virtual environment that was not activated (``.venv/bin/pytest``),
    # PATH's ``python3.11`` is the base interpreter without the venv's packages, and a user who names the
    # version they are running means the environment they are running in.
    if not isinstance(running, str) and _matches(running, wanted, threaded):
        return _with_spec(running, spec), tried
    for source, candidates in _candidates(spec, f"python{match['major']}.{match['minor']}{'t' if threaded else ''}"):
        if not candidates:
            tried.append(source if source.endswith(": not installed") else f"{source}: nothing")
        for candidate in candidates:
            answer = probe(candidate)
            if isinstance(answer, str):
                tried.append(f"{source} {candidate}: {answer}")
            elif not _matches(answer, wanted, threaded):
                tried.append(f"{source} {candidate}: is {answer.description}")
            else:
                return _with_spec(answer, spec), tried
    return None, tried


def _candidates(spec: str, command: str) -> list[tuple[str, list[str]]]:
    """(source, executables to probe) in lookup order: PATH, pyenv, uv."""
    sources: list[tuple[str, list[str]]] = []
    on_path = shutil.which(command)
    sources.append((f"PATH {command}", [on_path] if on_path else []))
    pyenv = shutil.which("pyenv")
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    from_pyenv: list[str] = []
    if pyenv is not None:
        prefix = _output([pyenv, "prefix", spec])
        if prefix:
            from_pyenv.append(str(Path(prefix.splitlines()[0]) / "bin" / command))
    installed = sorted(glob.glob(str(root / "versions" / f"{spec.removesuffix('t')}*" / "bin" / command)), reverse=True)
    from_pyenv += [path for path in installed if path not in from_pyenv]
    sources.append((f"pyenv ({root / 'versions'})", from_pyenv))
    uv = shutil.which("uv")
    if uv is None:
        sources.append(("uv: not installed", []))
    else:
        found = _output([uv, "python", "find", spec])
        sources.append(("uv python find", [found.splitlines()[0]] if found else []))
    return [(source, list(dict.fromkeys(paths))) for source, paths in sources]


def _matches(found: Interpreter, wanted: tuple[int, int, int | None], threaded: bool) -> bool:
    major, minor, micro = wanted
    if found.version_info[:2] != (major, minor) or (micro is not None and found.version_info[2] != micro):
        return False
    return found.free_threaded == threaded


def _with_spec(found: Interpreter, spec: str) -> Interpreter:
    return Interpreter(
        spec=spec,
        executable=found.executable,
        version=found.version,
        version_info=found.version_info,
        implementation=found.implementation,
        free_threaded=found.free_threaded,
        prefix=found.prefix,
    )


def _output(command: list[str]) -> str:
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=PROBE_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return result.stdout.strip() if result.returncode == 0 else ""


def _same_environment(a: Interpreter, b: Interpreter) -> bool:
    return os.path.realpath(a.prefix) == os.path.realpath(b.prefix) and a.free_threaded == b.free_threaded


def _implementation_name(name: str) -> str:
    return {"cpython": "CPython", "pypy": "PyPy"}.get(name, name)
