"""What each known workload's metrics are called and which of them a table or chart shows.

Metric keys are corobench's stable ``extra_info`` names. A workload not listed here still gets a table
of every numeric metric it saved; a metric a result lacks is shown as missing, never an error.
"""

from __future__ import annotations

from reports.load import Result

LABELS = {
    "overhead_per_task_s": "overhead / task",
    "rss_per_task_bytes": "memory / task",
    "peak_rss_bytes": "peak RSS",
    "throughput_msgs_per_s": "throughput",
    "throughput_bytes_per_s": "throughput (bytes)",
    "latency_p50_s": "p50",
    "latency_p90_s": "p90",
    "latency_p99_s": "p99",
    "latency_p999_s": "p99.9",
    "latency_max_s": "max",
    "server_cpu_s": "server CPU",
    "server_cpu_per_msg_s": "server CPU / msg",
    "server_cpu_util": "server CPU use",
    "rss_per_connection_bytes": "memory / connection",
    "cancel_cost_per_task_s": "cancel cost / task",
    "completed": "completed",
    "cancelled": "cancelled",
    "ideal_one_core_s": "ideal, one core",
    "ideal_all_cores_s": "ideal, all cores",
    "task_cpu_s": "CPU / task",
    "cpu_share": "CPU share",
    "speedup_vs_one_core": "speed-up vs one core",
    "reference_server_cpu_util": "reference server CPU use",
}
TABLE_COLUMNS = {
    "sleep_fanout": ("overhead_per_task_s", "rss_per_task_bytes"),
    "tcp_echo": (
        "throughput_msgs_per_s",
        "latency_p50_s",
        "latency_p99_s",
        "server_cpu_per_msg_s",
        "server_cpu_util",
        "rss_per_connection_bytes",
    ),
    "tcp_client": ("throughput_msgs_per_s", "reference_server_cpu_util", "rss_per_connection_bytes"),
    "timeout_cancel": ("cancel_cost_per_task_s", "completed", "cancelled", "rss_per_task_bytes"),
    "cpu_mixed": ("cpu_share", "ideal_one_core_s", "ideal_all_cores_s", "speedup_vs_one_core"),
}
LATENCY_KEYS = ("latency_p50_s", "latency_p90_s", "latency_p99_s", "latency_p999_s")
NOT_METRICS = frozenset(
    {
        "model",
        "workload",
        "params",
        "versions",
        "rounds",
        "warmup_rounds",
        "variant",
        "family",
        "client_bound",
        "reference_server_bound",
        "pinned_to_separate_cores",
        "cores",
    }
)
HIGHER_IS_BETTER_SUFFIXES = ("_per_s",)
HIGHER_IS_BETTER_KEYS = frozenset({"completed", "speedup_vs_one_core"})


def label(key: str) -> str:
    return LABELS.get(key, key.replace("_", " "))


def table_columns(workload: str, results: list[Result]) -> list[str]:
    """The metric columns a group's table shows: the workload's list, or every numeric metric saved."""
    known = TABLE_COLUMNS.get(workload)
    if known is not None:
        return [key for key in known if any(r.metric(key) is not None for r in results)]
    return sorted({key for r in results for key in r.extra if key not in NOT_METRICS and r.metric(key) is not None})


def higher_is_better(key: str) -> bool:
    return key in HIGHER_IS_BETTER_KEYS or key.endswith(HIGHER_IS_BETTER_SUFFIXES)
