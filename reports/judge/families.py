"""Model families and the order models are listed in: by family, then the family's listed order, then name.

Every known model belongs to one family (greenlet-based, event loop, threads, processes); a model this
module does not know takes its family from ``extra_info["family"]`` when a result carries one, else
``other``. Used to order rows, legends and the advice's per-family comparisons; colours per family are
``reports.draw.palette``. Pure data.
"""

from __future__ import annotations

FAMILIES: dict[str, tuple[str, ...]] = {
    "greenlet": ("greenlet", "gevent", "eventlet"),
    "event_loop": ("asyncio", "uvloop", "tornado", "twisted", "trio", "generators"),
    "threads": ("threads",),
    "processes": ("multiprocess_asyncio",),
}
FAMILY_LABELS = {
    "greenlet": "greenlet-based",
    "event_loop": "event loop",
    "threads": "threads",
    "processes": "processes",
    "other": "other",
}
FAMILY_ORDER = ("event_loop", "greenlet", "threads", "processes", "other")


def family(model: str, declared: str | None = None) -> str:
    for name, members in FAMILIES.items():
        if model in members:
            return name
    return declared if declared in FAMILY_LABELS else "other"


def model_sort_key(model: str, declared_family: str | None = None) -> tuple[int, int, str]:
    """Order for legends: by family, then the family's listed order, then name."""
    fam = family(model, declared_family)
    members = FAMILIES.get(fam, ())
    return (FAMILY_ORDER.index(fam), members.index(model) if model in members else len(members), model)
