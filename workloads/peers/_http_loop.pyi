"""Types of the HTTP load generator's C loop (``_http_loop.c``)."""

def run(
    epoll_fd: int, fds: list[int], request: bytes, body: bytes, total: int, spin: bool, /
) -> tuple[float, list[float], tuple[int, str, int, bytes] | None, float]: ...
