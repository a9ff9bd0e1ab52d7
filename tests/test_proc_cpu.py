"""CPU readings keep the time of threads that ended inside the measured interval (a thread per connection)."""

from __future__ import annotations

import os
import threading
import time

import pytest

from workloads.runtime.proc import group_cpu_seconds, own_group_cpu_seconds

pytestmark = pytest.mark.timing  # CPU and clock readings: rerun under load by .ci/run


def burn(seconds: float) -> None:
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def test_a_thread_that_ended_still_counts_in_the_workers_own_reading() -> None:
    own_before, live_before = own_group_cpu_seconds(), group_cpu_seconds(os.getpgrp())
    worker = threading.Thread(target=burn, args=(0.2,))
    worker.start()
    worker.join()
    own, live = own_group_cpu_seconds() - own_before, group_cpu_seconds(os.getpgrp()) - live_before
    assert own >= 0.19  # the ended thread's 0.2 s is kept
    assert live < own - 0.15  # the live-thread sum lost it: the reason tcp_client reads its own process this way
