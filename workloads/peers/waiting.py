"""How the load generators wait for echoes: by spinning on a non-blocking poll (default) or by sleeping.

Both generators run on a core of their own (the harness pins them), so a generator that spins takes
nothing from the server. Sleeping in ``epoll_wait`` is not free on loopback, and not free for the
side under test: the server's ``send()`` runs the generator's TCP receive path and wakes the sleeping
generator, so every echo paid for a wake-up (``try_to_wake_up`` plus an inter-processor interrupt, a
VM exit on this hypervisor; about 2 us per echo for asyncio streams) on the server's CPU, a cost a
client on another machine never puts on a server. The sleeping generator also woke late (tens of
microseconds on a halted vCPU), which left the fastest servers idle between echoes: utilisation
0.95-0.98 instead of 0.99-1.00 (workloads/models/MEASUREMENTS.md, "the closed-loop generator, spin
or sleep").

What a spinning generator spends polling an empty set is waiting, not work: each generator times
its empty polls and reports them apart (``generator_wait_s``), and its ``generator_cpu_s`` is the
CPU it spent on anything else, which is what tells whether the generator set the pace.
``COROBENCH_GENERATOR_SLEEP=1`` restores the sleeping form for both generators.
"""

from __future__ import annotations

import os

from workloads.runtime.settings import GENERATOR_SLEEP_ENV, GENERATOR_SLEEP_VALUES

SLEEP_ENV = GENERATOR_SLEEP_ENV


def spins() -> bool:
    """True unless ``COROBENCH_GENERATOR_SLEEP=1``: poll without blocking while echoes are due."""
    value = os.environ.get(SLEEP_ENV, "")
    if value not in GENERATOR_SLEEP_VALUES:
        raise ValueError(f"{SLEEP_ENV}={value!r}; expected 1 (sleep) or 0/unset (spin)")
    return value != "1"
