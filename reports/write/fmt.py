"""Number formatting shared by charts and tables, chosen from a metric's key suffix.

Keys carry their unit (``_s`` seconds, ``_bytes``, ``_per_s`` rates, ``_util``/``_share`` fractions,
``speedup_`` multiples), so any new
metric is formatted sensibly without being listed. Four significant digits everywhere, so a table
value can be checked against the saved statistic it came from. Stdlib only.
"""

from __future__ import annotations

import re
from typing import Any

from reports.judge.memory import resolution
from reports.read.run import Result
from reports.read.schemas import WorkloadSchema

_TIME_UNITS = ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns"))
_BYTE_UNITS = ((1024.0**3, "GiB"), (1024.0**2, "MiB"), (1024.0, "KiB"), (1.0, "B"))
_COUNT_UNITS = ((1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""))


def sig(value: float) -> str:
    """Four significant digits, never in exponent notation for everyday magnitudes."""
    text = f"{value:.4g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        return f"{mantissa}e{int(exponent)}"
    return text


def seconds(value: float) -> str:
    return _scaled(value, _TIME_UNITS, " ")


def size(value: float) -> str:
    return _scaled(value, _BYTE_UNITS, " ")


def rate(value: float, unit: str) -> str:
    if unit == "B/s":
        return size(value) + "/s"
    return _scaled(value, _COUNT_UNITS, " ").rstrip() + f" {unit}"


def ratio(value: float) -> str:
    return f"{value:.2f}x" if value < 10 else f"{value:.1f}x"


def time_unit_for(values: list[float]) -> tuple[float, str]:
    """A common (scale, unit) for a chart axis of seconds: the unit of the largest value."""
    top = max((abs(v) for v in values), default=1.0)
    for scale, unit in _TIME_UNITS:
        if top >= scale:
            return scale, unit
    return _TIME_UNITS[-1]


def byte_unit_for(values: list[float]) -> tuple[float, str]:
    top = max((abs(v) for v in values), default=1.0)
    for scale, unit in _BYTE_UNITS:
        if top >= scale:
            return scale, unit
    return _BYTE_UNITS[-1]


def metric(key: str, value: Any, unit: str | None = None) -> str:
    """A metric value formatted by its schema unit (else its key's unit suffix); '—' when missing."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if not isinstance(value, int | float):
        return str(value)
    if unit is not None and unit in _BY_UNIT:
        return _BY_UNIT[unit](value)
    if key.endswith("_bytes_per_s"):
        return rate(value, "B/s")
    if key.endswith("_msgs_per_s"):
        return rate(value, "msg/s")
    if key.endswith("_per_s"):
        return rate(value, "/s")
    if key.endswith("_s"):
        return seconds(value)
    if key.endswith("_bytes"):
        return size(value)
    if key.endswith(("_util", "_share")):
        return f"{value * 100:.0f}%"
    if key.startswith("speedup"):
        return f"{value:.2f}x"
    return sig(value)


_BY_UNIT = {
    "s": seconds,
    "bytes": size,
    "msgs/s": lambda v: rate(v, "msg/s"),
    "bytes/s": lambda v: rate(v, "B/s"),
    "/s": lambda v: rate(v, "/s"),
    "share": lambda v: f"{v * 100:.0f}%",
    "ratio": lambda v: f"{v:.2f}x",
    "count": sig,
}


def unit_kind(key: str) -> str:
    """'rate', 'seconds', 'bytes', 'fraction' or 'number', from the key's suffix."""
    if key.endswith("_per_s"):
        return "rate"
    if key.endswith("_s"):
        return "seconds"
    if key.endswith("_bytes"):
        return "bytes"
    if key.endswith(("_util", "_share")):
        return "fraction"
    return "number"


def _scaled(value: float, units: tuple[tuple[float, str], ...], sep: str) -> str:
    if value == 0:
        return f"0{sep}{units[-1][1]}"
    for scale, unit in units:
        if abs(value) >= scale:
            return f"{sig(value / scale)}{sep}{unit}"
    scale, unit = units[-1]
    return f"{sig(value / scale)}{sep}{unit}"


def axis_unit(key: str, values: list[float]) -> tuple[float, str]:
    """(scale, unit) to divide a metric's values by for a chart axis, from the key's unit suffix."""
    kind = unit_kind(key)
    if kind == "seconds":
        return time_unit_for(values)
    if kind == "bytes":
        return byte_unit_for(values)
    if kind == "fraction":
        return 0.01, "%"
    if kind == "rate":
        if key.endswith("_bytes_per_s"):
            scale, unit = byte_unit_for(values)
            return scale, f"{unit}/s"
        what = "msg/s" if key.endswith("_msgs_per_s") else "/s"
        top = max((abs(v) for v in values), default=1.0)
        for scale, prefix in _COUNT_UNITS:
            if top >= scale * 10 or scale == 1.0:
                return scale, f"{prefix} {what}".strip()
    return 1.0, ""


def relative(value: float, reference: float, name: str) -> str:
    """'2.10x slower than asyncio', '1.25x faster than asyncio' or 'same as asyncio' (times: lower is faster)."""
    if reference <= 0 or value <= 0:
        return "—"
    r = value / reference
    if abs(r - 1) < 0.005:
        return f"same as {name}"
    return f"{ratio(r)} slower than {name}" if r > 1 else f"{ratio(1 / r)} faster than {name}"


def slug(text: str) -> str:
    """A file-name-safe form of a group or workload name."""
    return re.sub(r"[^A-Za-z0-9.]+", "_", text).strip("_") or "chart"


def param_text(params: dict[str, object]) -> str:
    return ", ".join(f"{'N' if key == 'n' else key}={value}" for key, value in params.items())


def memory_text(result: Result, key: str, schema: WorkloadSchema | None) -> str:
    """The formatted figure, or '< R' when it lies below the resolution R."""
    value = result.metric(key)
    if value is None:
        return "—"
    res = resolution(result, key, schema)
    if res is not None and value < res:
        return f"< {size(res)}"
    return size(value)
