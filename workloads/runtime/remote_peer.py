"""The peer host's end of an SSH channel: run one peer (a load generator) on the channel's stdin and stdout.

The harness starts ``python -m workloads.runtime.remote_peer MODULE NAME`` over ``ssh`` on the peer host
(``benchmarks.harness.peer_host``). A peer module speaks the suite's worker protocol on two file
descriptors (``python -m MODULE NAME REQUEST_FD REPLY_FD``); here those are the SSH channel:

- replies: the channel's stdout is handed to the peer as its reply descriptor; the peer's own stdout
  and stderr go to this process's stderr, which ssh carries back into the harness's log of this peer,
  so nothing but frames ever reaches the channel's stdout;
- requests: this process copies the channel's stdin into a pipe that is the peer's request
  descriptor. It does so rather than handing stdin over because it must see the channel close: when the
  harness's ssh client ends (the cell finished, failed, or ``kill -9``), sshd closes stdin, and a peer
  busy in a long round would not read it until the round ends. At EOF this process kills the peer's
  process group at once (it started the peer in a session of its own) and exits, so nothing is left
  running on the peer host. SIGHUP and SIGTERM (sshd ending the session) do the same.

It ends with the peer's exit status when the peer ends first.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
from types import FrameType

POLL_S = 0.2
"""How often the copy loop checks that the peer is still running while stdin is quiet."""


def _kill(peer: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(peer.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    peer.wait()


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m workloads.runtime.remote_peer MODULE NAME", file=sys.stderr)
        return 2
    module, name = argv
    request_read, request_write = os.pipe()
    reply = os.dup(sys.stdout.fileno())
    peer = subprocess.Popen(
        [sys.executable, "-m", module, name, str(request_read), str(reply)],
        pass_fds=(request_read, reply),
        stdin=subprocess.DEVNULL,
        stdout=sys.stderr.fileno(),
        stderr=sys.stderr.fileno(),
        start_new_session=True,
    )
    os.close(request_read)
    os.close(reply)

    def end(signum: int, frame: FrameType | None) -> None:
        _kill(peer)
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGHUP, end)
    signal.signal(signal.SIGTERM, end)
    stdin = sys.stdin.fileno()
    with selectors.DefaultSelector() as selector:
        selector.register(stdin, selectors.EVENT_READ)
        while peer.poll() is None:
            if not selector.select(POLL_S):
                continue
            chunk = os.read(stdin, 1 << 16)
            if not chunk:  # the channel closed: the harness is gone or done
                _kill(peer)
                return 0
            try:
                os.write(request_write, chunk)
            except BrokenPipeError:
                break
    return peer.wait()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
