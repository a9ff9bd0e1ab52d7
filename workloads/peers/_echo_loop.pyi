"""Types of the load generator's C loop (``_echo_loop.c``)."""

def run(
    epoll_fd: int, fds: list[int], messages: list[bytes], total: int, spin: bool, /
) -> tuple[float, list[float], tuple[int, int, bytes] | None, float]: ...
