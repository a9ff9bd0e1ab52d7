"""Fixed colours and markers per concurrency model, so a model looks the same in every chart.

Every known model has its own colour, chosen so that no two are easily confused (a qualitative palette
in the spirit of matplotlib's ``tab10``/``tab20``), loosely grouped by family: greenlet-based in greens
and olive, event loops in blues, purple, brown and pink, threads orange, processes red; the suite's own
reference schedulers in olive (greenlet hub) and grey (generators). A model this module does not know
takes its family from ``extra_info["family"]`` when a result carries one, else ``other`` (greys), and
a shade picked from a stable hash of its name. Variants of a model (``asyncio (streams)``) keep the
model's colour and differ by hatch and line style. Families and their order are
``reports.judge.families``. Pure data; matplotlib is not imported here.
"""

from __future__ import annotations

import zlib
from typing import Literal, TypeAlias

from reports.judge.families import family

LineStyle: TypeAlias = Literal["-", "--", ":", "-."]

MODEL_COLOURS = {
    "greenlet": "#9a9a1e",
    "gevent": "#2ca02c",
    "eventlet": "#7fd67f",
    "asyncio": "#1f77b4",
    "uvloop": "#17becf",
    "trio": "#9467bd",
    "generators": "#7f7f7f",
    "tornado": "#8c564b",
    "twisted": "#e377c2",
    "threads": "#ff7f0e",
    "multiprocess_asyncio": "#d62728",
}
SPARE_SHADES = {
    "greenlet": ("#41ab5d", "#006d2c", "#a1d99b"),
    "event_loop": ("#4292c6", "#807dba", "#3f007d", "#9ecae1"),
    "threads": ("#fd8d3c", "#a63603"),
    "processes": ("#ef3b2c", "#67000d"),
    "other": ("#636363", "#969696", "#252525", "#bdbdbd"),
}
FAMILY_MARKERS = {"greenlet": "s", "event_loop": "o", "threads": "^", "processes": "D", "other": "v"}
VARIANT_HATCHES = ("", "//", "..", "xx", "\\\\")
VARIANT_LINESTYLES: tuple[LineStyle, ...] = ("-", "--", ":", "-.")


def colour(model: str, declared_family: str | None = None) -> str:
    if model in MODEL_COLOURS:
        return MODEL_COLOURS[model]
    shades = SPARE_SHADES[family(model, declared_family)]
    return shades[zlib.crc32(model.encode()) % len(shades)]


def marker(model: str, declared_family: str | None = None) -> str:
    return FAMILY_MARKERS[family(model, declared_family)]


def variant_index(variant: str | None, variants: list[str | None]) -> int:
    """Position of a variant among its model's variants, to pick a hatch or line style (0 = plain)."""
    ordered = sorted({v for v in variants if v})
    return ordered.index(variant) if variant in ordered else 0


def hatch(index: int) -> str:
    return VARIANT_HATCHES[index % len(VARIANT_HATCHES)]


def linestyle(index: int) -> LineStyle:
    return VARIANT_LINESTYLES[index % len(VARIANT_LINESTYLES)]
