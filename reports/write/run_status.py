"""The "Run status" part of a report: whether the run is complete, and which cells failed or were skipped.

Read from the ``corobench`` section the benchmark session saves with its
results (``benchmarks/harness/run_record.py``): a run cut short by Ctrl-C or SIGTERM is
marked partial, a failed cell carries its one-line cause, a skipped cell its
reason (e.g. a model that cannot run 100 000 OS threads). Runs saved without
that section (older runs, other tools) get no status blocks.
"""

from __future__ import annotations

from typing import Any

from reports.write.document import Alert, Bullets, Heading, Paragraph

PARTIAL_WARNING = (
    "This run was interrupted{by}: it holds only the cells that completed before it stopped, "
    "so a model or group may be missing."
)


def warning_blocks(session: dict[str, Any]) -> list[Alert | Paragraph]:
    """What the top of the report says about the run's completeness: one alert, or one line."""
    if not session:
        return []
    blocks: list[Alert | Paragraph] = []
    if session.get("partial"):
        by = session.get("interrupted_by")
        blocks.append(Alert(PARTIAL_WARNING.format(by=f" by {by}" if by else "")))
    failed = session.get("failed_cells") or []
    skipped = session.get("skipped_cells") or []
    if failed:
        blocks.append(Alert(f"{len(failed)} cell(s) failed and have no result: see Run status at the end."))
    if skipped:
        blocks.append(Paragraph(f"{len(skipped)} cell(s) were skipped, each with its reason under Run status."))
    return blocks


def status_blocks(session: dict[str, Any]) -> list[Alert | Heading | Paragraph | Bullets]:
    """The full lists of failed and skipped cells, with their causes (the report's last section)."""
    if not session:
        return []
    blocks: list[Alert | Heading | Paragraph | Bullets] = []
    failed = session.get("failed_cells") or []
    skipped = session.get("skipped_cells") or []
    if not failed and not skipped:
        return blocks
    blocks.append(Heading(1, "Run status"))
    if failed:
        blocks.append(Paragraph(f"{len(failed)} cell(s) failed and have no result:"))
        blocks.append(Bullets(tuple(f"{_cell_name(c)} — {c.get('cause', '?')}" for c in failed)))
    if skipped:
        blocks.append(Paragraph(f"{len(skipped)} cell(s) were skipped, with the reason:"))
        blocks.append(Bullets(tuple(f"{_cell_name(c)} — {c.get('reason', '?')}" for c in skipped)))
    return blocks


def _cell_name(cell: dict[str, Any]) -> str:
    """``test_sleep_fanout[threads-n=100000-delay=0.01]`` from the test's node id."""
    return str(cell.get("test", "?")).rsplit("::", 1)[-1]
