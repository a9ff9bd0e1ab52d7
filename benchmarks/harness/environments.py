"""An environment with the model libraries for every ``--python`` interpreter, created once and cached.

The interpreter running pytest already has them. Any other interpreter is first asked whether it
has the project's requirement set (``[project].dependencies`` of pyproject.toml, read with
tomllib: the same set the main environment installed, markers evaluated by the interpreter
itself); if it lacks some, a virtual environment is made for it under
``.corobench/venvs/<implementation>-<version>[t]/`` in the repository (gitignored) with the
standard tools: ``uv venv`` + ``uv pip install`` where uv is installed, else ``python -m venv`` +
``pip install``. pip's progress lines are shown as they come. When installing the whole set fails,
each requirement is installed on its own so that one library that will not build leaves the others
usable. The environment is reused while the hash of its requirement set and interpreter (kept in
``corobench-env.json`` inside it) is unchanged, and rebuilt when it changes.

A requirement still missing afterwards is reported per distribution with the reason and the
command that would install it; the cells of models that need it are skipped with that text
(``Cell.skip_reason``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.harness.interpreters import REPO_ROOT, Interpreter
from benchmarks.harness.worker_client import worker_executable

VENVS_DIR = REPO_ROOT / ".corobench" / "venvs"
STAMP = "corobench-env.json"
INSTALL_TIMEOUT_S = 1800.0
PROGRESS_PREFIXES = ("Collecting", "Downloading", "Building", "Installing", "Successfully", "Resolved", "Prepared")
CHECK = """\
import json, sys
import importlib.metadata as metadata
try:
    from packaging.requirements import Requirement
except ImportError:
    from pip._vendor.packaging.requirements import Requirement
missing = {}
for line in json.loads(sys.argv[1]):
    requirement = Requirement(line)
    if requirement.marker is not None and not requirement.marker.evaluate():
        continue
    try:
        version = metadata.version(requirement.name)
    except metadata.PackageNotFoundError:
        missing[requirement.name] = [line, "not installed"]
        continue
    if requirement.specifier and not requirement.specifier.contains(version, prereleases=True):
        missing[requirement.name] = [line, f"{version} is installed"]
print(json.dumps(missing))
"""
"""Runs in the target interpreter: which requirements it does not satisfy (name -> [requirement, why])."""

Say = Callable[[str], None]


class EnvironmentFailed(RuntimeError):
    """No environment could be made for an interpreter (venv itself failed)."""


@dataclass(frozen=True)
class PreparedInterpreter:
    """A ``--python`` interpreter with the environment its workers run in."""

    interpreter: Interpreter
    python: str
    """The executable workers start: the interpreter itself, or its cached venv's python."""
    venv: str | None = None
    missing: dict[str, str] = field(default_factory=dict, hash=False)
    """Normalised distribution name -> why it is missing there and the command that installs it."""

    @property
    def spec(self) -> str:
        return self.interpreter.spec

    def missing_for(self, distributions: tuple[str, ...]) -> list[str]:
        return [self.missing[key] for key in map(normalise, distributions) if key in self.missing]

    def to_json(self) -> dict[str, object]:
        i = self.interpreter
        return {
            "spec": i.spec,
            "executable": i.executable,
            "worker_python": self.python,
            "venv": self.venv,
            "python_version": i.version,
            "python_implementation": i.implementation,
            "python_build": i.build,
            "missing": self.missing,
        }


def requirement_set() -> list[str]:
    """The project's runtime requirements, exactly as pyproject.toml lists them."""
    with open(REPO_ROOT / "pyproject.toml", "rb") as file:
        return list(tomllib.load(file)["project"]["dependencies"])


def prepare(interpreter: Interpreter, say: Say) -> PreparedInterpreter:
    """The environment ``interpreter``'s workers run in, created (and cached) when it lacks libraries."""
    if interpreter.is_main:
        return PreparedInterpreter(interpreter, python=worker_executable(None))
    requirements = requirement_set()
    if not missing_requirements(interpreter.executable, requirements):
        return PreparedInterpreter(interpreter, python=interpreter.executable)
    venv = venv_dir(interpreter)
    python = str(venv / "bin" / "python")
    wanted = requirements_hash(interpreter, requirements)
    if _stamp_hash(venv) == wanted and os.access(python, os.X_OK):
        say(f"corobench: reusing the environment for {interpreter.description}: {venv}")
    else:
        _build(interpreter, venv, requirements, wanted, say)
    missing = missing_requirements(python, requirements)
    for why in missing.values():
        say(f"corobench: {interpreter.spec}: {why}")
    return PreparedInterpreter(interpreter, python=python, venv=str(venv), missing=missing)


def venv_dir(interpreter: Interpreter) -> Path:
    threaded = "t" if interpreter.free_threaded else ""
    return VENVS_DIR / f"{interpreter.implementation}-{interpreter.version}{threaded}"


def requirements_hash(interpreter: Interpreter, requirements: list[str]) -> str:
    key = {"requirements": sorted(requirements), "executable": interpreter.executable, "version": interpreter.version}
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


def missing_requirements(python: str, requirements: list[str]) -> dict[str, str]:
    """Normalised name -> "why; fix: command" for each requirement ``python`` does not satisfy."""
    try:
        result = subprocess.run(
            [python, "-I", "-c", CHECK, json.dumps(requirements)], capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {
            normalise(_name(r)): f"cannot check {r} ({exc}); fix: {install_command(python, [r])}" for r in requirements
        }
    if result.returncode != 0:  # neither packaging nor pip there: nothing can be checked, so all count as missing
        reason = (result.stderr.strip().splitlines() or ["no output"])[-1]
        return {
            normalise(_name(r)): f"cannot check {r} ({reason}); fix: {install_command(python, [r])}"
            for r in requirements
        }
    found: dict[str, list[str]] = json.loads(result.stdout)
    return {
        normalise(name): f"{line}: {why} under {python}; fix: {install_command(python, [line])}"
        for name, (line, why) in found.items()
    }


def install_command(python: str, requirements: list[str]) -> str:
    quoted = " ".join(f"'{r}'" for r in requirements)
    if shutil.which("uv"):
        return f"uv pip install --python {python} {quoted}"
    return f"{python} -m pip install {quoted}"


def normalise(name: str) -> str:
    """PEP 503 name normalisation, so ``interpreters_pep_734`` and ``interpreters-pep-734`` match."""
    return "-".join(part for part in name.lower().replace("_", "-").replace(".", "-").split("-") if part)


# -- building ---------------------------------------------------------------------


def _build(interpreter: Interpreter, venv: Path, requirements: list[str], wanted: str, say: Say) -> None:
    say(f"corobench: creating an environment for {interpreter.description} in {venv} (cached for later runs)")
    if venv.exists():
        shutil.rmtree(venv)
    venv.parent.mkdir(parents=True, exist_ok=True)
    python = str(venv / "bin" / "python")
    uv = shutil.which("uv")
    made = (
        _stream([uv, "venv", "--python", interpreter.executable, str(venv)], say)
        if uv
        else _stream([interpreter.executable, "-m", "venv", str(venv)], say)
    )
    if made != 0:
        raise EnvironmentFailed(f"could not create a virtual environment for {interpreter.description} in {venv}")
    say(f"corobench: installing {len(requirements)} requirements from pyproject.toml into {venv}")
    if _install(uv, python, requirements, say) != 0:
        say("corobench: installing them together failed; installing each on its own so the others are usable")
        for requirement in requirements:
            if _install(uv, python, [requirement], say) != 0:
                say(f"corobench: could not install {requirement} for {interpreter.description}")
    (venv / STAMP).write_text(json.dumps({"hash": wanted, "requirements": requirements}, indent=1))


def _install(uv: str | None, python: str, requirements: list[str], say: Say) -> int:
    if uv:
        return _stream([uv, "pip", "install", "--python", python, *requirements], say)
    return _stream([python, "-m", "pip", "install", "--disable-pip-version-check", *requirements], say)


def _stream(command: list[str], say: Say) -> int:
    """Run ``command``, showing its progress lines (and errors) as they come; its exit status."""
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as process:
        assert process.stdout is not None
        for line in process.stdout:
            text = line.rstrip()
            if text.lstrip().startswith(PROGRESS_PREFIXES) or "error" in text.lower():
                say(f"  {text.strip()}")
        return process.wait(timeout=INSTALL_TIMEOUT_S)


def _stamp_hash(venv: Path) -> str | None:
    try:
        return str(json.loads((venv / STAMP).read_text())["hash"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _name(requirement: str) -> str:
    for index, char in enumerate(requirement):
        if not (char.isalnum() or char in "-_."):
            return requirement[:index]
    return requirement
