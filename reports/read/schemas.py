"""What a run says about its workloads: metric labels, units, direction, headlines, table columns, order, charts.

Read from the saved JSON's ``corobench.workloads`` (one ``Schema.to_json()`` per workload, written by the
harness), so a workload the report code has never heard of is labelled, ordered and charted from the run
alone. Runs saved before the schema travelled with them get it from ``reports.read.upgrade``. A metric
no schema declares is still shown, named from its key (``widgets_per_s`` -> ``widgets per s``) with its
unit read from the key's suffix. Stdlib only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class MetricSpec:
    key: str
    label: str
    unit: str
    """``s``, ``bytes``, ``msgs/s``, ``bytes/s``, ``ratio``, ``share``, ``count``, ``flag`` (or a key-suffix guess)."""
    higher_is_better: bool = False
    headline: bool = False
    table: bool = True


@dataclass(frozen=True)
class ChartSpec:
    workload: str
    metric: str
    x: str
    name: str
    question: str
    guides: bool = False
    section: str = ""


@dataclass(frozen=True)
class WorkloadSchema:
    name: str
    order: int
    question: str
    scenario: str
    metrics: tuple[MetricSpec, ...]
    charts: tuple[ChartSpec, ...] = ()
    flags: tuple[str, ...] = ()

    def metric(self, key: str) -> MetricSpec | None:
        return next((m for m in self.metrics if m.key == key), None)

    @property
    def headlines(self) -> tuple[str, ...]:
        return tuple(m.key for m in self.metrics if m.headline)

    @property
    def speed_headline(self) -> str | None:
        """The first headline metric that is not memory: what the decision matrix ranks on."""
        return next((m.key for m in self.metrics if m.headline and m.unit != "bytes"), None)

    @property
    def memory_headline(self) -> str | None:
        return next((m.key for m in self.metrics if m.headline and m.unit == "bytes"), None)

    def units_of(self, metric: str) -> str | None:
        """The parameter a per-unit metric is divided by (the x of a chart of it), e.g. ``n`` or ``connections``."""
        return next((c.x for c in self.charts if c.metric == metric), None)


def parse_schema(doc: Any, name: str) -> WorkloadSchema | None:
    """One workload's schema from its JSON form, or None when it is not one."""
    if not isinstance(doc, dict) or not isinstance(doc.get("metrics"), list):
        return None
    metrics = tuple(
        MetricSpec(
            key=str(m["key"]),
            label=str(m.get("label") or m["key"]),
            unit=str(m.get("unit") or guess_unit(str(m["key"]))),
            higher_is_better=bool(m.get("higher_is_better", False)),
            headline=bool(m.get("headline", False)),
            table=bool(m.get("table", True)),
        )
        for m in doc["metrics"]
        if isinstance(m, dict) and isinstance(m.get("key"), str)
    )
    charts = tuple(
        ChartSpec(
            workload=name,
            metric=str(c["metric"]),
            x=str(c["x"]),
            name=str(c.get("name") or f"{c['metric']}_vs_{c['x']}"),
            question=str(c.get("question") or ""),
            guides=bool(c.get("guides", False)),
            section=str(c.get("section") or ""),
        )
        for c in doc.get("charts") or []
        if isinstance(c, dict) and isinstance(c.get("metric"), str) and isinstance(c.get("x"), str)
    )
    order = doc.get("order")
    return WorkloadSchema(
        name=name,
        order=order if isinstance(order, int) and not isinstance(order, bool) else 1_000_000,
        question=str(doc.get("question") or ""),
        scenario=str(doc.get("scenario") or name),
        metrics=metrics,
        charts=charts,
        flags=tuple(str(f) for f in doc.get("flags") or [] if isinstance(f, str)),
    )


def schemas_of(session: dict[str, Any]) -> dict[str, WorkloadSchema]:
    """The schemas the run carries (``corobench.workloads``), ordered by ``order`` then name."""
    saved = session.get("workloads")
    source = saved if isinstance(saved, dict) else {}
    parsed = {name: parse_schema(doc, str(name)) for name, doc in source.items()}
    found = {name: schema for name, schema in parsed.items() if schema is not None}
    return dict(sorted(found.items(), key=lambda item: (item[1].order, item[0])))


def guess_unit(key: str) -> str:
    """A unit read from a key's suffix, for metrics no schema declares."""
    if key.endswith("_bytes_per_s"):
        return "bytes/s"
    if key.endswith("_msgs_per_s"):
        return "msgs/s"
    if key.endswith("_per_s"):
        return "/s"
    if key.endswith("_s"):
        return "s"
    if key.endswith("_bytes"):
        return "bytes"
    if key.endswith(("_util", "_share")):
        return "share"
    if key.startswith("speedup"):
        return "ratio"
    return "count"
