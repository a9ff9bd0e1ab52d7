"""The report's "Reproduce this run" box and its download links.

Renders ``corobench.environment`` when the run recorded it (command, profile, ``pip freeze`` of the
worker environment, cores, Python build, load average at the start and the end; any other key is shown
as saved). Runs without it get the command rebuilt from ``corobench.profile`` and ``models``, said to
be rebuilt. Links point at files written next to the report: the run's JSON and ``results.csv``.
"""

from __future__ import annotations

from typing import Any

from reports.read.run import Run
from reports.write.document import Code, Heading, Paragraph, Section, Table
from reports.write.results_csv import CSV_NAME

KNOWN = ("command", "profile", "cores", "python_build", "load_average_start", "load_average_end", "pip_freeze")


def reproduce_blocks(run: Run, json_names: list[str]) -> list[Heading | Paragraph | Code | Table | Section]:
    env = run.environment
    session = run.session
    profile = env.get("profile") or session.get("profile")
    command = env.get("command")
    blocks: list[Heading | Paragraph | Code | Table | Section] = [Heading(1, "Reproduce this run")]
    if command:
        blocks.append(Code(command if isinstance(command, str) else " ".join(map(str, command))))
    else:
        models = session.get("models")
        rebuilt = "pytest benchmarks --benchmark-autosave"
        if profile:
            rebuilt += f" --profile={profile}"
        if isinstance(models, list) and models:
            rebuilt += f" --models={','.join(map(str, models))}"
        blocks.append(Paragraph("The run did not record its command; rebuilt from its profile and models:"))
        blocks.append(Code(rebuilt))
    rows = [("profile", str(profile or "?"))]
    rows.append(("cores", str(env.get("cores") or run.machine.cores or "?")))
    rows.append(("Python build", str(env.get("python_build") or run.machine.python)))
    for key in ("load_average_start", "load_average_end"):
        if key in env:
            rows.append((key.replace("_", " "), _load(env[key])))
    rows.extend((key.replace("_", " "), _plain(value)) for key, value in env.items() if key not in KNOWN)
    blocks.append(Table(("", "value"), tuple(rows)))
    freeze = env.get("pip_freeze")
    if isinstance(freeze, list) and freeze:
        blocks.append(
            Section(
                2,
                f"pip freeze of the worker environment ({len(freeze)} packages)",
                (Code("\n".join(map(str, freeze))),),
            )
        )
    links = [f"[{name}]({name})" for name in json_names] + [f"[{CSV_NAME}]({CSV_NAME}) (one row per result)"]
    blocks.append(Paragraph("Data: " + " · ".join(links)))
    return blocks


def _load(value: Any) -> str:
    if isinstance(value, list | tuple):
        return " / ".join(f"{v:.2f}" if isinstance(v, float) else str(v) for v in value) + " (1 / 5 / 15 min)"
    return _plain(value)


def _plain(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_plain(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value))
    return str(value)
