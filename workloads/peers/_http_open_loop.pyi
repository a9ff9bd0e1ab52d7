"""Types of the open-loop HTTP generator's C loop (``_http_open_loop.c``)."""

from array import array

def run(
    epoll_fd: int,
    timer_fd: int,
    fds: list[int],
    request: bytes,
    body: bytes,
    offsets: array[float],
    picks: array[int],
    first_measured: int,
    lags_us: array[int],
    latencies_us: array[int],
    waits_us: array[int],
    warmup_s: float,
    duration_s: float,
    drain_s: float,
    spin_s: float,
    busy_poll: bool,
    /,
) -> tuple[float, float, int, int, int, int, tuple[int, str, int, bytes] | None]: ...
