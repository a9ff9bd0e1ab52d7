"""The list of concurrency models: one entry per module under ``workloads/models/``.

Importing this module imports no concurrency library, so the pytest process can read it to
validate ``--models``, decide which models are installed and which variants each offers. Adding a
model means adding its module (``<name>_model.py``, or a package ``<name>_model/`` whose
``model.py`` is the model) and one line to ``MODELS``.

Variants: per workload, the implementations a model offers, default first. The worker passes the
variant's name to the model's function; a model that declares none for a workload gets
``"default"``. Test-only models live under ``tests/``; a test names their registry module in
``COROBENCH_EXTRA_MODELS`` (``tests.models``), which both the harness and the worker read.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

DEFAULT_VARIANT = "default"
EXTRA_MODELS_ENV = "COROBENCH_EXTRA_MODELS"


@dataclass(frozen=True)
class Model:
    """What the harness needs to know about a model without importing it."""

    name: str
    family: str
    """Report colour group: ``greenlet``, ``event_loop``, ``threads`` or ``processes``."""
    distributions: tuple[str, ...] = ()
    """PyPI distributions the model needs; their versions are recorded with results."""
    description: str = ""
    variants: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)
    """Workload -> the implementations this model offers for it, default first."""
    variant_env: Mapping[str, Mapping[str, str]] = field(default_factory=dict, hash=False)
    """Variant -> environment its worker starts with (a setting read at import, e.g. gevent's config)."""
    variant_profiles: Mapping[str | tuple[str, str], tuple[str, ...]] = field(default_factory=dict, hash=False)
    """Variant, or (workload, variant) for one workload only (it wins) -> the profiles that measure it
    (default: every profile); keeps the default profile in budget."""
    variant_params: Mapping[str, Mapping[str, object]] = field(default_factory=dict, hash=False)
    """Variant -> the parameter values its cells are limited to (a finding shown at one point of the grid)."""
    needs_python: tuple[tuple[int, int], str] | None = None
    """(oldest Python version, why) where the model needs a newer interpreter than the suite does."""
    variant_needs_python: Mapping[str, tuple[tuple[int, int], str]] = field(default_factory=dict, hash=False)
    """Variant -> (oldest Python version, why), for variants built on a newer API (``eager``: 3.12)."""
    cannot: tuple[tuple[str, str], ...] = ()
    """(workload, reason) pairs for workloads this model cannot honestly do; those cells are skipped with the reason."""
    reference: bool = False
    """One of the suite's own schedulers (a lower bound nobody deploys), not a production library."""
    unranked_variants: Mapping[tuple[str, str], str] = field(default_factory=dict, hash=False)
    """(workload, variant) -> why its figure does not measure the same work as the other rows (saved as
    ``unranked``): shown beside them, never ranked against them."""
    package: bool = False
    """The model is ``<name>_model/model.py`` (it has private helpers beside it)."""
    module_path: str = ""
    """Where the module is, when not under ``workloads.models`` (test-only models)."""

    def reason_cannot(self, workload: str) -> str | None:
        return dict(self.cannot).get(workload)

    def variants_of(self, workload: str) -> tuple[str, ...]:
        return self.variants.get(workload, (DEFAULT_VARIANT,))

    def runs_at(self, variant: str, params: Mapping[str, object]) -> bool:
        """Whether ``variant`` is measured at ``params`` (``variant_params`` limits some variants)."""
        return all(params.get(key) == value for key, value in self.variant_params.get(variant, {}).items())

    def variants_in(self, workload: str, profile: str) -> tuple[str, ...]:
        """The variants of ``workload`` measured in ``profile``: the default variant always is, unless a
        ``(workload, variant)`` entry of ``variant_profiles`` names the profiles it runs in."""
        default, *others = self.variants_of(workload)
        kept = [v for v in others if profile in self.profiles_of(workload, v, profile)]
        if profile in self.variant_profiles.get((workload, default), (profile,)):
            kept.insert(0, default)
        return tuple(kept)

    def profiles_of(self, workload: str, variant: str, profile: str) -> tuple[str, ...]:
        every = self.variant_profiles.get(variant, (profile,))
        return self.variant_profiles.get((workload, variant), every)

    def reason_too_old(self, version: tuple[int, ...], variant: str | None = None) -> str | None:
        """Why this model (or variant) cannot run on Python ``version``; None when it can."""
        for label, needs in (
            (self.name, self.needs_python),
            (f"{self.name}.{variant}", self.variant_needs_python.get(variant or "")),
        ):
            if needs is not None and tuple(version[:2]) < needs[0]:
                oldest = ".".join(map(str, needs[0]))
                found = ".".join(map(str, version))
                return f"{label} needs Python {oldest}+ ({needs[1]}); this interpreter is {found}"
        return None

    @property
    def module(self) -> str:
        if self.module_path:
            return self.module_path
        return f"workloads.models.{self.name}_model" + (".model" if self.package else "")

    def versions(self) -> dict[str, str]:
        """Installed versions of this model's distributions (missing ones left out)."""
        found = {}
        for dist in self.distributions:
            try:
                found[dist] = importlib.metadata.version(dist)
            except importlib.metadata.PackageNotFoundError:
                pass
        return found

    def missing_distributions(self) -> list[str]:
        """Distributions this model needs that are not installed (empty when runnable)."""
        return [dist for dist in self.distributions if dist not in self.versions()]


ASYNCIO_ECHO = ("streams", "protocol", "buffered")
ASYNCIO_ECHO_PROFILES: Mapping[str | tuple[str, str], tuple[str, ...]] = {
    "buffered": ("default", "full"),
    ("tcp_latency", "buffered"): ("full",),
}
ASYNCIO_ECHO_PARAMS: Mapping[str, Mapping[str, object]] = {"buffered": {"connections": 10}}
"""The BufferedProtocol server at C=10 only (both sizes): the expert's fast form, where echo servers are
compared; the whole grid of it would add twelve echo cells to the default profile. Its open-loop latency
(tcp_latency) is in ``full``: streams against Protocol is the idiom a user chooses between, and the default
profile's minutes went to http_latency."""
TWISTED_TASKS = ("coroutines", "chains")
"""One coroutine per task (default), or Deferred chains with no coroutine (less work per task than any other model)."""
TWISTED_HANDOFF = {"ping_pong": ("scheduled", "callbacks")}
"""A hand-off through the reactor (``callLater(0, queue.put, token)``, default), or DeferredQueue's synchronous
callback chain, in which the waiting side resumes inside the other's ``put``."""
SYNCHRONOUS_HANDOFF = (
    "a synchronous Deferred callback chain: the waiting side resumes inside the other side's put(), in the same "
    "call stack, while every other row passes control through its scheduler"
)
GEVENT_CONFIGS = ("defaults", "tuned")
"""gevent as installed, or with its documented speed setting (no greenlet-tree tracking)."""
DEFAULT_AND_FULL = ("default", "full")
FULL_ONLY = ("full",)
QUICK_AND_FULL = ("quick", "full")
"""Out of the default profile's budget, but still in the smoke run (every model on every workload)."""
COLD_ALLOCATOR = {"COROBENCH_ALLOCATOR_STATE": "cold"}
"""A fresh process's glibc mmap threshold (``workloads.runtime.allocator``; CPython issue 85451): asyncio's
selector transport pays an mmap/munmap per ``recv(256 KiB)``. uvloop reads into libuv's own buffer."""
ASYNCIO_COLD_ECHO = ("streams_cold_allocator", "protocol_cold_allocator", "buffered_cold_allocator")
EAGER = ("default", "eager")
EAGER_PROFILES: Mapping[str | tuple[str, str], tuple[str, ...]] = {
    ("timeout_cancel", "eager"): FULL_ONLY,
    ("cpu_mixed", "eager"): FULL_ONLY,
}
"""The default profile measures eager tasks on sleep_fanout only (its budget); full measures all three."""
EAGER_NEEDS = {"eager": ((3, 12), "asyncio.eager_task_factory is new in 3.12")}
NO_HANDOFF_YET = "a hand-off between two subinterpreters (interpreters.Queue) is not written yet"
EAGER_WORKLOADS = {"sleep_fanout": EAGER, "timeout_cancel": EAGER, "cpu_mixed": EAGER}
SAME_PARSER = "httptools"
"""The same-parser HTTP tier (``workloads.specs.http_server.SAME_PARSER``): httptools over the model's own sockets."""
ASYNCIO_HTTP = ("uvicorn", "aiohttp", SAME_PARSER)
"""uvicorn with a bare ASGI app (the server FastAPI runs on, the more used), aiohttp.web, the same parser."""
NO_HTTPTOOLS_IN_SUBINTERPRETERS = (
    "its HTTP server would run the same parser (httptools) in every subinterpreter, and httptools' C module "
    "refuses to load there (ImportError: does not support loading in subinterpreters)"
)

MODELS: dict[str, Model] = {
    m.name: m
    for m in (
        Model(
            "greenlet",
            "greenlet",
            ("greenlet",),
            "raw greenlets on a small selectors hub",
            variants={"http_server": (SAME_PARSER,)},
            reference=True,
            package=True,
        ),
        Model(
            "gevent",
            "greenlet",
            ("gevent", "greenlet"),
            "gevent, monkey-patched stdlib",
            variants={
                **{
                    w: GEVENT_CONFIGS for w in ("sleep_fanout", "timeout_cancel", "cpu_mixed", "tcp_client", "tcp_echo")
                },
                "http_server": ("pywsgi", SAME_PARSER),
            },
            variant_env={"tuned": {"GEVENT_TRACK_GREENLET_TREE": "0"}},
            variant_profiles={
                "tuned": FULL_ONLY,
                ("sleep_fanout", "tuned"): DEFAULT_AND_FULL,
                ("timeout_cancel", "tuned"): DEFAULT_AND_FULL,
            },
        ),
        Model(
            "eventlet",
            "greenlet",
            ("eventlet", "greenlet"),
            "eventlet, monkey-patched stdlib",
            variants={"http_server": ("wsgi", SAME_PARSER)},
        ),
        Model(
            "tornado",
            "event_loop",
            ("tornado",),
            "tornado native coroutines",
            variants={"http_server": ("httpserver", SAME_PARSER)},
        ),
        Model(
            "twisted",
            "event_loop",
            ("twisted",),
            "twisted Deferreds on the default reactor",
            variants={
                **{w: TWISTED_TASKS for w in ("sleep_fanout", "timeout_cancel", "cpu_mixed")},
                **TWISTED_HANDOFF,
                "http_server": ("web", SAME_PARSER),
            },
            variant_profiles={"chains": FULL_ONLY, ("sleep_fanout", "chains"): DEFAULT_AND_FULL},
            unranked_variants={("ping_pong", "callbacks"): SYNCHRONOUS_HANDOFF},
        ),
        Model(
            "asyncio",
            "event_loop",
            (),
            "asyncio on the default event loop",
            {"tcp_echo": ASYNCIO_ECHO + ASYNCIO_COLD_ECHO, **EAGER_WORKLOADS, "http_server": ASYNCIO_HTTP},
            variant_env=dict.fromkeys(ASYNCIO_COLD_ECHO, COLD_ALLOCATOR),
            variant_profiles={
                **ASYNCIO_ECHO_PROFILES,
                **dict.fromkeys(ASYNCIO_COLD_ECHO, DEFAULT_AND_FULL),
                # the allocator's cost is a closed-loop finding; its open-loop cells are in full
                **{("tcp_latency", variant): FULL_ONLY for variant in ASYNCIO_COLD_ECHO},
                **EAGER_PROFILES,
            },
            variant_params={
                **ASYNCIO_ECHO_PARAMS,
                **{variant: {"connections": 10, "message_size": 1024} for variant in ASYNCIO_COLD_ECHO},
            },
            variant_needs_python=EAGER_NEEDS,
        ),
        Model(
            "multiprocess_asyncio",
            "processes",
            (),
            "one asyncio process per core",
            variants={"http_server": (SAME_PARSER,)},
            # on one host its server has one core: its open-loop cells would repeat asyncio's Protocol server
            variant_profiles={
                ("tcp_latency", DEFAULT_VARIANT): QUICK_AND_FULL,
                ("http_latency", SAME_PARSER): QUICK_AND_FULL,
            },
            package=True,
        ),
        Model(
            "threads",
            "threads",
            (),
            "one OS thread per task",
            {"ping_pong": ("queue", "simple_queue"), "http_server": ("threadinghttpserver", SAME_PARSER)},
            variant_profiles={"simple_queue": ("full",)},
        ),
        Model(
            "trio",
            "event_loop",
            ("trio",),
            "trio nurseries and streams",
            variants={"http_server": ("h11", SAME_PARSER)},
        ),
        Model(
            "generators",
            "event_loop",
            (),
            "plain generator coroutines on a scheduler of our own",
            variants={"http_server": (SAME_PARSER,)},
            reference=True,
            package=True,
        ),
        Model(
            "uvloop",
            "event_loop",
            ("uvloop",),
            "asyncio code on uvloop's libuv loop",
            {"tcp_echo": ASYNCIO_ECHO, **EAGER_WORKLOADS, "http_server": ASYNCIO_HTTP},
            variant_profiles={**ASYNCIO_ECHO_PROFILES, **EAGER_PROFILES},
            variant_params=ASYNCIO_ECHO_PARAMS,
            variant_needs_python=EAGER_NEEDS,
        ),
        Model(
            "asyncio_threads",
            "threads",
            (),
            "one asyncio loop per core, each in a thread of one process",
            variants={"http_server": (SAME_PARSER,)},
            # its latency, client and HTTP cells repeat the hybrid's code under one GIL; its echo shows the GIL
            variant_profiles={
                ("tcp_latency", DEFAULT_VARIANT): QUICK_AND_FULL,
                ("tcp_client", DEFAULT_VARIANT): QUICK_AND_FULL,
                ("http_server", SAME_PARSER): QUICK_AND_FULL,
                ("http_latency", SAME_PARSER): QUICK_AND_FULL,
            },
        ),
        Model(
            "interpreters_asyncio",
            "processes",
            (),
            "one asyncio loop per subinterpreter, each with its own GIL (PEP 684/734)",
            cannot=(
                ("ping_pong", NO_HANDOFF_YET),
                ("http_server", NO_HTTPTOOLS_IN_SUBINTERPRETERS),
            ),
            needs_python=((3, 12), "subinterpreters with their own GIL: PEP 684, 3.12; the PEP 734 API"),
        ),
    )
}


def installed_models() -> list[str]:
    """Names of the models whose libraries are installed, in registry order."""
    return [name for name, model in MODELS.items() if not model.missing_distributions()]


def extra_models() -> dict[str, Model]:
    """Test-only models, from the registry module named in ``COROBENCH_EXTRA_MODELS`` (none by default)."""
    module = os.environ.get(EXTRA_MODELS_ENV)
    if not module:
        return {}
    extra = importlib.import_module(module).MODELS
    return {name: model for name, model in extra.items() if name not in MODELS}


def lookup(name: str) -> Model:
    """The model called ``name``, production or (when enabled) test-only; KeyError if none."""
    return MODELS.get(name) or extra_models()[name]
