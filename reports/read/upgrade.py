"""Older saved runs brought to the current format (``reports.read.format.FORMAT_VERSION``), in one place.

``upgrade(doc)`` returns a copy of a saved pytest-benchmark document in the current format; the rest of
the reports side reads only that. No other module knows what an older version looked like.

Version 0 (runs saved before ``corobench.format_version`` was written) may lack, and gets here:
- ``corobench.workloads``: the schemas of the five workloads of that time (``V0_WORKLOADS``, in exactly
  the shape ``Schema.to_json()`` writes);
- per cell ``reference_scheduler`` and ``default_variant``: from the models and variant names of that time;
- per cell ``bottleneck``: ``peer`` when one of the workload's flags (``client_bound``,
  ``reference_server_bound``, or a schema's ``flags``) is true, else ``under_test``; the flag names the
  bound in the report (``bottleneck_evidence.bound``: ``client-bound``, ``server-bound``).

An upgrade of a later version is one more ``_from_<n>`` step in ``STEPS``. Stdlib only.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from reports.read.format import FORMAT_VERSION, SECTION, version_of


def _m(key: str, label: str, unit: str, *, higher: bool = False, headline: bool = False, table: bool = True) -> Any:
    return {"key": key, "label": label, "unit": unit, "higher_is_better": higher, "headline": headline, "table": table}


def _c(metric: str, x: str, name: str, question: str, *, guides: bool = False, section: str = "") -> Any:
    return {"metric": metric, "x": x, "name": name, "question": question, "guides": guides, "section": section}


def _throughput_chart(question: str) -> Any:
    return _c("throughput_msgs_per_s", "connections", "throughput_vs_connections", question)


_RSS_TASK = _m("rss_per_task_bytes", "memory / task", "bytes", headline=True)
_RSS_CONN = _m("rss_per_connection_bytes", "memory / connection", "bytes", headline=True)
_PEAK = _m("peak_rss_bytes", "peak RSS", "bytes", table=False)
_THROUGHPUT = _m("throughput_msgs_per_s", "throughput", "msgs/s", higher=True, headline=True)
_THROUGHPUT_BYTES = _m("throughput_bytes_per_s", "throughput (bytes)", "bytes/s", higher=True, table=False)

V0_WORKLOADS: dict[str, Any] = {
    "sleep_fanout": {
        "name": "sleep_fanout",
        "order": 10,
        "question": "What does spawning, sleeping and gathering N tasks cost?",
        "scenario": "many idle tasks",
        "metrics": [_m("overhead_per_task_s", "overhead / task", "s", headline=True), _RSS_TASK, _PEAK],
        "charts": [
            _c(
                "overhead_per_task_s",
                "n",
                "overhead_vs_n",
                "How much time does each model add per task, and does that cost grow as the number of tasks grows?",
            ),
            _c(
                "rss_per_task_bytes",
                "n",
                "memory_per_task",
                "How many bytes of memory does each concurrent task cost in each model?",
                section="memory",
            ),
        ],
        "flags": [],
    },
    "tcp_echo": {
        "name": "tcp_echo",
        "order": 20,
        "question": "How fast is the model as a TCP server?",
        "scenario": "busy server",
        "metrics": [
            _THROUGHPUT,
            _THROUGHPUT_BYTES,
            _m("latency_p50_s", "p50", "s"),
            _m("latency_p90_s", "p90", "s", table=False),
            _m("latency_p99_s", "p99", "s", headline=True),
            _m("latency_p999_s", "p99.9", "s", table=False),
            _m("latency_max_s", "max", "s", table=False),
            _m("server_cpu_per_msg_s", "server CPU / msg", "s", headline=True),
            _m("server_cpu_util", "server CPU use", "share", higher=True),
            _m("server_cpu_s", "server CPU", "s", table=False),
            _RSS_CONN,
            _PEAK,
        ],
        "charts": [
            _throughput_chart(
                "How many echoes per second does each model's server sustain as connections grow, for each "
                "message size?"
            ),
            _c(
                "server_cpu_per_msg_s",
                "connections",
                "server_cpu_per_msg",
                "How much server CPU time does each model spend per echoed message?",
            ),
            _c(
                "rss_per_connection_bytes",
                "connections",
                "memory_per_connection",
                "How many bytes of server memory does each open connection cost in each model?",
                section="memory",
            ),
        ],
        "flags": ["client_bound"],
    },
    "tcp_client": {
        "name": "tcp_client",
        "order": 30,
        "question": "How fast is the model as a client of many connections?",
        "scenario": "client fan-out",
        "metrics": [
            _THROUGHPUT,
            _THROUGHPUT_BYTES,
            _m("reference_server_cpu_util", "reference server CPU use", "share"),
            _RSS_CONN,
            _PEAK,
        ],
        "charts": [
            _throughput_chart("How many round trips per second can each model drive as a client as connections grow?"),
            _c(
                "rss_per_connection_bytes",
                "connections",
                "memory_per_connection",
                "How many bytes of client memory does each open connection cost in each model?",
                section="memory",
            ),
        ],
        "flags": ["reference_server_bound"],
    },
    "timeout_cancel": {
        "name": "timeout_cancel",
        "order": 40,
        "question": "What do timeouts and cancellation cost?",
        "scenario": "heavy cancellation",
        "metrics": [
            _m("cancel_cost_per_task_s", "cancel cost / task", "s", headline=True),
            _m("completed", "completed", "count", higher=True),
            _m("cancelled", "cancelled", "count"),
            _RSS_TASK,
            _PEAK,
        ],
        "charts": [
            _c(
                "cancel_cost_per_task_s",
                "n",
                "cancel_cost_vs_n",
                "What does cancelling a task on timeout cost per task in each model, as the number of tasks grows?",
            ),
            _c(
                "rss_per_task_bytes",
                "n",
                "memory_per_task",
                "How many bytes of memory does each cancelled task cost in each model?",
                section="memory",
            ),
        ],
        "flags": [],
    },
    "cpu_mixed": {
        "name": "cpu_mixed",
        "order": 50,
        "question": 'Does "processes plus coroutines" pay off once tasks need CPU?',
        "scenario": "CPU-heavy tasks",
        "metrics": [
            _m("cpu_share", "CPU share", "share"),
            _m("ideal_one_core_s", "ideal, one core", "s"),
            _m("ideal_all_cores_s", "ideal, all cores", "s"),
            _m("speedup_vs_one_core", "speed-up vs one core", "ratio", higher=True, headline=True),
            _m("task_cpu_s", "CPU / task", "s", table=False),
        ],
        "charts": [
            _c(
                "speedup_vs_one_core",
                "work",
                "speedup_vs_work",
                "As each task's CPU work after its IO grows, which models stay near one core's ideal and which use "
                "more cores (above 1)?",
                guides=True,
            ),
        ],
        "flags": [],
    },
}

V0_REFERENCE_SCHEDULERS = frozenset({"greenlet", "generators"})
"""Models that were the suite's own schedulers."""
V0_DEFAULT_VARIANTS = frozenset({None, "default", "streams"})
"""Variant names that were a model's default."""
V0_BOUND_FLAGS = {"client_bound": "client-bound", "reference_server_bound": "server-bound"}
"""extra_info flags saying a cell measured the load generator (echo) or the reference server (client)."""


class NewerFormat(ValueError):
    """The run was written by a newer corobench than this reader."""


def upgrade(doc: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``doc`` in the current format (``doc`` itself is left as saved)."""
    version = version_of(doc)
    if version > FORMAT_VERSION:
        raise NewerFormat(f"saved in format version {version}; this reader knows versions up to {FORMAT_VERSION}")
    doc = copy.deepcopy(doc)
    for step in STEPS[version:]:
        doc = step(doc)
    return doc


def _from_0(doc: dict[str, Any]) -> dict[str, Any]:
    section = doc.get(SECTION)
    section = dict(section) if isinstance(section, dict) else {}
    if not isinstance(section.get("workloads"), dict) or not section["workloads"]:
        section["workloads"] = copy.deepcopy(V0_WORKLOADS)
    section["format_version"] = 1
    doc[SECTION] = section
    for bench in doc.get("benchmarks") or []:
        extra = bench.get("extra_info") if isinstance(bench, dict) else None
        if isinstance(extra, dict):
            schema = section["workloads"].get(extra.get("workload"))
            _cell_from_0(extra, schema if isinstance(schema, dict) else {})
    return doc


def _cell_from_0(extra: dict[str, Any], schema: dict[str, Any]) -> None:
    if not isinstance(extra.get("reference_scheduler"), bool):
        extra["reference_scheduler"] = extra.get("model") in V0_REFERENCE_SCHEDULERS
    if not isinstance(extra.get("default_variant"), bool):
        variant = extra.get("variant") if isinstance(extra.get("variant"), str) and extra.get("variant") else None
        extra["default_variant"] = variant in V0_DEFAULT_VARIANTS
    if extra.get("bottleneck") in ("under_test", "peer", "neither"):
        return
    flags = dict.fromkeys((*(f for f in schema.get("flags") or [] if isinstance(f, str)), *V0_BOUND_FLAGS))
    raised = next((flag for flag in flags if extra.get(flag) is True), None)
    extra["bottleneck"] = "under_test" if raised is None else "peer"
    if raised is not None:
        extra["bottleneck_evidence"] = {"bound": V0_BOUND_FLAGS.get(raised, raised.replace("_", "-"))}


STEPS: tuple[Callable[[dict[str, Any]], dict[str, Any]], ...] = (_from_0,)
"""``STEPS[n]`` brings a document of version n to version n + 1."""
assert len(STEPS) == FORMAT_VERSION
