"""A small scheduler for raw greenlets: one hub greenlet, a selector, a timer heap and a ready queue.

This is what the ``greenlet`` model runs on. It uses only the ``greenlet`` package (no gevent):

- ``greenlet.greenlet(run, parent)`` / ``switch()`` / ``throw()`` / ``getcurrent()``: every task is a
  greenlet whose parent is the hub greenlet, so when a task returns, control goes back to the hub loop.
  A greenlet that must wait appends its ``switch`` to a queue and switches to the hub; the hub later
  calls that ``switch`` to resume it.
- ``selectors.DefaultSelector`` (epoll on Linux) for file-descriptor readiness. Read interest is kept
  registered after it fired (the "lazy" scheme libev uses), so a connection that waits to read again
  and again costs no ``epoll_ctl`` calls; an interest nobody waits for any more is dropped when it
  next fires, and ``forget(fd)``/``close(sock)`` remove it before an fd is closed.
- ``heapq`` of ``[deadline, seq, callback]`` lists on ``time.monotonic`` for timers (sleeps and timeouts);
  a timer is cancelled by setting its callback to ``None`` (lazy deletion, as asyncio does; the heap is
  compacted when cancelled entries are more than half of it). ``collections.deque`` as the ready queue
  of callables (normally a greenlet's bound ``switch``).

The hub loop has the shape of asyncio's ``_run_once``: compute the timeout from the ready queue and the
earliest timer, poll the selector (skipped when no fd is watched and nothing needs waiting for), run the
callbacks of the timers that are due (directly, the way libev runs expired timer watchers: no detour
through the ready queue), then run exactly the callbacks that were ready at that point, so fd events and
timers are never starved by greenlets that keep rescheduling themselves.

Timeouts (``Timeout``, modelled on ``gevent.Timeout``): ``with Timeout(seconds):`` arms a hub timer
whose callback ``throw``s the ``Timeout`` instance into the greenlet if it is still inside the block;
leaving the block cancels the timer, so a greenlet that got out in time is never interrupted later.
``Timeout(seconds, silent=True)`` also swallows its own expiry at the end of the block (gevent's
``Timeout(seconds, False)``, trio's ``move_on_after``). A throw can reach a greenlet whose wake-up is
already arranged (its timer, fd event or joined task may fire in the same loop turn), so every blocking
primitive takes back its own pending wake-up when an exception is thrown into it: it cancels its timer,
drops its fd wait, unlinks from the task it joins, or, if the wake-up is already in the ready queue,
replaces it there with a no-op (``unschedule``). A stale wake-up can therefore never resume a greenlet in
the middle of some later wait.

The hub is created once per thread (``get_hub()``) and reused for every round; the greenlet that
created it (normally the main greenlet) can block in any primitive here just like a task: it switches
to the hub and is resumed when its wait is over. If the hub finds nothing that could ever wake the
blocked main greenlet (no ready callbacks, no timers, no fd waits) it raises ``Deadlock`` there.

Cost: the hub's Python work per task is less than asyncio's, but every greenlet gets its own CPython
frame data-stack chunk, which 3.11 allocates with ``mmap`` on the greenlet's first call and ``munmap``s
when it dies, and that kernel work is a large share of a fan-out round's CPU (figures in
MEASUREMENTS.md). Reusing finished greenlets would hide it, but the model runs one fresh greenlet per
task on purpose.

Green sockets: ``create_connection``, ``accept``, ``recv``, ``recv_into``,
``sendall`` and ``close`` work on ordinary non-blocking ``socket.socket`` objects: they try the call
and wait with ``wait_readable``/``wait_writable`` only when it would block (``BlockingIOError``).
``forget(fd)`` (and so ``close``) wakes a greenlet waiting on the fd, which then raises ``Cancelled``.
"""

from __future__ import annotations

import errno
import functools
import gc
import heapq
import itertools
import os
import selectors
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, Generic, TypeVar

from greenlet import getcurrent, greenlet  # no stubs: greenlet is untyped (Any) for mypy

T = TypeVar("T")

EVENT_READ = selectors.EVENT_READ
EVENT_WRITE = selectors.EVENT_WRITE

TimerEntry = list[Any]
"""A timer on the hub's heap: ``[deadline, seq, callback]``; the callback is ``None`` once cancelled or run."""

_COMPACT_MIN_CANCELLED = 100
"""Rebuild the timer heap when more than this many cancelled timers are more than half of it."""


def _noop() -> None:
    """Stands in the ready queue for a wake-up that was taken back."""


class Deadlock(RuntimeError):
    """The greenlet that owns the hub waits, but nothing is left that could ever wake it."""


class Cancelled(ConnectionAbortedError):
    """Raised in a greenlet whose fd wait was cancelled because the fd is being closed."""


class Timeout(BaseException):
    """``with Timeout(seconds):`` -- raise this instance in the greenlet if it is still inside the block then.

    A ``BaseException``, like ``gevent.Timeout``, so ``except Exception`` in the guarded code cannot swallow
    it. Leaving the block cancels the timer. With ``silent=True`` the ``with`` statement swallows its own
    expiry (and only its own: an outer ``Timeout`` passes through); check ``expired`` to tell what
    happened. Without it, catch it as ``except Timeout as t: if t is not mine: raise``. One use per
    instance.
    """

    def __init__(self, seconds: float, *, silent: bool = False) -> None:
        super().__init__(seconds)
        self.seconds = seconds
        self.silent = silent
        self.expired = False
        self._hub: Hub | None = None
        self._timer: TimerEntry | None = None
        self._greenlet: greenlet | None = None

    def __enter__(self) -> Timeout:
        if self._hub is not None:
            raise RuntimeError("a Timeout can be entered only once")
        self._hub = hub = get_hub()
        self._greenlet = getcurrent()
        self._timer = hub.call_later(self.seconds, self._expire)
        return self

    def _expire(self) -> None:  # a timer callback: runs in the hub while the greenlet is blocked inside the block
        self._timer = None
        self.expired = True
        target = self._greenlet
        self._greenlet = None
        if target is not None:
            target.throw(self)  # its blocking primitive takes back its own wake-up, then this propagates

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        self._greenlet = None
        timer, hub = self._timer, self._hub
        if timer is not None and hub is not None:  # left the block in time: the timer must never fire
            self._timer = None
            hub.cancel_timer(timer)
        return exc is self and self.silent


class Task(greenlet, Generic[T]):  # greenlet has no stubs: the base is Any to mypy
    """A greenlet running ``fn(*args)`` once; the handle other greenlets join to get its result."""

    __slots__ = ("_args", "_exception", "_fn", "_links", "_value", "done")

    def __init__(self, hub_greenlet: greenlet, fn: Callable[..., T], args: tuple[Any, ...]) -> None:
        greenlet.__init__(self, None, hub_greenlet)
        self._fn: Callable[..., T] | None = fn
        self._args: tuple[Any, ...] | None = args
        self._value: T | None = None
        self._exception: BaseException | None = None
        self._links: list[Callable[[], object]] | None = None
        self.done = False

    def run(self) -> None:  # called by greenlet when the hub first switches to this task
        try:
            self._value = self._fn(*self._args)  # type: ignore[misc]
        except BaseException as exc:  # the joiner re-raises it; it must not escape into the hub
            self._exception = exc
        self._fn = self._args = None
        self.done = True
        links = self._links
        if links is not None:
            self._links = None
            for link in links:
                link()
        # returning switches to the parent: the hub loop

    def link(self, callback: Callable[[], object]) -> None:
        """Call ``callback()`` (in the finishing task, so it must not block) when this task is done."""
        if self.done:
            callback()
        elif self._links is None:
            self._links = [callback]
        else:
            self._links.append(callback)

    def unlink(self, callback: Callable[[], object]) -> None:
        """Forget a ``callback`` given to ``link`` (no error if it already ran or was never linked)."""
        if self._links is not None and callback in self._links:
            self._links.remove(callback)

    def result(self) -> T:
        """The task's return value; re-raises its exception. Only valid once ``done``."""
        if not self.done:
            raise RuntimeError("the task has not finished; join it first")
        if self._exception is not None:
            raise self._exception
        return self._value  # type: ignore[return-value]

    @property
    def exception(self) -> BaseException | None:
        return self._exception

    def join(self) -> T:
        """Block the calling greenlet until this task is done; return its result or raise its exception."""
        if not self.done:
            hub = get_hub()
            resume = getcurrent().switch
            wake = functools.partial(hub.ready.append, resume)
            self.link(wake)
            try:
                hub.block()
            except BaseException:  # woken by a throw (Timeout, Deadlock): finishing must not resume us later
                if self.done:  # it finished in the same loop turn: our wake-up is already queued
                    hub.unschedule(resume)
                else:
                    self.unlink(wake)
                raise
        return self.result()


class _Latch:
    """Counts finishing tasks down to zero, then schedules the waiting greenlet once."""

    __slots__ = ("_append", "_resume", "count")

    def __init__(
        self, count: int, append: Callable[[Callable[[], object]], None], resume: Callable[[], object]
    ) -> None:
        self.count = count
        self._append = append
        self._resume: Callable[[], object] | None = resume

    def __call__(self) -> None:
        self.count -= 1
        if self.count == 0 and self._resume is not None:
            self._append(self._resume)

    def disarm(self) -> None:
        """The waiter left by an exception: never schedule it."""
        self._resume = None

    @property
    def fired(self) -> bool:
        """The waiter has been scheduled (it is in the ready queue, or already resumed)."""
        return self.count == 0 and self._resume is not None


class _Watch:
    """Per-fd state: the greenlet waiting to read, the one waiting to write, the registered events."""

    __slots__ = ("closed", "events", "reader", "writer")

    def __init__(self) -> None:
        self.reader: greenlet | None = None
        self.writer: greenlet | None = None
        self.events = 0
        self.closed = False


class Hub:
    """The event loop greenlet and the blocking primitives for the greenlets it schedules."""

    def __init__(self) -> None:
        self.owner = getcurrent()
        self.ready: deque[Callable[[], object]] = deque()
        self._timers: list[TimerEntry] = []
        self._cancelled_timers = 0
        self._seq = itertools.count()
        self._selector = selectors.DefaultSelector()
        self._watches: dict[int, _Watch] = {}
        self._fd_waiters = 0
        self.greenlet = greenlet(self._loop, self.owner)
        self.block: Callable[[], object] = self.greenlet.switch
        """Switch to the hub; the caller must have arranged to be resumed (ready queue, timer or fd)."""

    # -- tasks --------------------------------------------------------------

    def spawn(self, fn: Callable[..., T], *args: Any) -> Task[T]:
        """Start ``fn(*args)`` in a new greenlet at the hub's next turn; return its handle."""
        task: Task[T] = Task(self.greenlet, fn, args)
        self.ready.append(task.switch)
        return task

    def join_all(self, tasks: Iterable[Task[T]]) -> list[T]:
        """Wait until every task is done; return their results in order.

        One shared countdown is linked to the unfinished tasks, so the joiner is resumed once, when the
        last one finishes (O(n) in all). If tasks failed, the first failure in task order is raised after
        all of them have finished.
        """
        tasks = list(tasks)
        pending = [task for task in tasks if not task.done]
        if pending:
            resume = getcurrent().switch
            latch = _Latch(len(pending), self.ready.append, resume)
            for task in pending:
                task.link(latch)
            try:
                self.block()
            except BaseException:  # thrown into (Timeout, Deadlock): the last task must not resume us later
                if latch.fired:
                    self.unschedule(resume)
                latch.disarm()
                raise
        return [task.result() for task in tasks]

    def scheduled(self) -> dict[str, int]:
        """What is still scheduled between rounds: live timers, ready callbacks, fd waits, live task greenlets."""
        gc.collect()
        return {
            "timers": sum(1 for entry in self._timers if entry[2] is not None),
            "ready": len(self.ready),
            "fd_waiters": self._fd_waiters,
            "live_tasks": sum(1 for obj in gc.get_objects() if isinstance(obj, Task) and not obj.done),
        }

    # -- timers ---------------------------------------------------------------

    def call_later(self, seconds: float, callback: Callable[[], object]) -> TimerEntry:
        """Run ``callback()`` in the hub after ``seconds``; it must not block. Returns the timer, to cancel it."""
        entry = [time.monotonic() + seconds, next(self._seq), callback]
        heapq.heappush(self._timers, entry)
        return entry

    def cancel_timer(self, entry: TimerEntry) -> None:
        """Make sure the timer's callback never runs (no-op if it already ran or was cancelled)."""
        if entry[2] is None:
            return
        entry[2] = None
        self._cancelled_timers += 1
        timers = self._timers
        if self._cancelled_timers > _COMPACT_MIN_CANCELLED and 2 * self._cancelled_timers > len(timers):
            timers[:] = [live for live in timers if live[2] is not None]  # in place: the loop holds this list
            heapq.heapify(timers)
            self._cancelled_timers = 0

    def unschedule(self, callback: Callable[[], object]) -> None:
        """Take a queued ``callback`` back out of the ready queue (replaced by a no-op; O(len(ready)), only
        needed when a throw overtakes a wake-up that is already queued)."""
        try:
            index = self.ready.index(callback)
        except ValueError:
            return
        self.ready[index] = _noop

    # -- waiting --------------------------------------------------------------

    def sleep(self, seconds: float) -> None:
        """Suspend the calling greenlet for ``seconds`` (``<= 0``: just yield to the others)."""
        resume = getcurrent().switch
        if seconds > 0:
            entry = [time.monotonic() + seconds, next(self._seq), resume]
            heapq.heappush(self._timers, entry)
            try:
                self.block()
            except BaseException:  # thrown into (a Timeout): the timer must not resume us later
                self.cancel_timer(entry)
                raise
        else:
            self.ready.append(resume)
            try:
                self.block()
            except BaseException:
                self.unschedule(resume)
                raise

    def wait_readable(self, fd: int) -> None:
        """Suspend the calling greenlet until ``fd`` is readable (or raise ``Cancelled`` if it is forgotten)."""
        watch = self._watches.get(fd)
        if watch is None:
            watch = self._watches[fd] = _Watch()
        if watch.reader is not None:
            raise RuntimeError(f"another greenlet is already waiting to read fd {fd}")
        current = getcurrent()
        if not watch.events & EVENT_READ:
            self._set_events(fd, watch, watch.events | EVENT_READ)
        watch.reader = current
        self._fd_waiters += 1
        try:
            self.block()
        except BaseException:  # thrown into (a Timeout): take back whichever wake-up is pending
            if watch.reader is current:
                watch.reader = None
                self._fd_waiters -= 1
            else:  # the event (or forget) already queued our switch in this loop turn
                self.unschedule(current.switch)
            raise
        if watch.closed:
            raise Cancelled(errno.ECONNABORTED, f"fd {fd} closed")

    def wait_writable(self, fd: int) -> None:
        """Suspend the calling greenlet until ``fd`` is writable (or raise ``Cancelled`` if it is forgotten)."""
        watch = self._watches.get(fd)
        if watch is None:
            watch = self._watches[fd] = _Watch()
        if watch.writer is not None:
            raise RuntimeError(f"another greenlet is already waiting to write fd {fd}")
        current = getcurrent()
        if not watch.events & EVENT_WRITE:
            self._set_events(fd, watch, watch.events | EVENT_WRITE)
        watch.writer = current
        self._fd_waiters += 1
        try:
            self.block()
        except BaseException:  # thrown into (a Timeout): take back whichever wake-up is pending
            if watch.writer is current:
                watch.writer = None
                self._fd_waiters -= 1
            else:  # the event (or forget) already queued our switch in this loop turn
                self.unschedule(current.switch)
            raise
        if watch.closed:
            raise Cancelled(errno.ECONNABORTED, f"fd {fd} closed")

    def forget(self, fd: int) -> None:
        """Stop watching ``fd`` (call before closing it); greenlets waiting on it get ``Cancelled``."""
        watch = self._watches.pop(fd, None)
        if watch is None:
            return
        if watch.events:
            self._selector.unregister(fd)
        watch.closed = True  # a waiter woken below raises Cancelled
        for waiter in (watch.reader, watch.writer):
            if waiter is not None:
                self._fd_waiters -= 1
                self.ready.append(waiter.switch)
        watch.reader = watch.writer = None

    def _set_events(self, fd: int, watch: _Watch, events: int) -> None:
        if not watch.events:
            self._selector.register(fd, events, watch)
        elif events:
            self._selector.modify(fd, events, watch)
        else:
            self._selector.unregister(fd)
        watch.events = events

    # -- the loop ---------------------------------------------------------------

    def _loop(self) -> None:
        try:
            self._run_forever()
        finally:  # only an internal error ends the loop: it propagates to the owner; a new hub is made next
            if getattr(_local, "hub", None) is self:
                del _local.hub

    def _run_forever(self) -> None:
        ready = self.ready
        run_next = ready.popleft
        make_ready = ready.append
        timers = self._timers
        heappop = heapq.heappop
        monotonic = time.monotonic
        select = self._selector.select
        while True:
            while timers and timers[0][2] is None:  # cancelled timers at the head must not set the timeout
                heappop(timers)
                self._cancelled_timers -= 1
            if ready:
                timeout: float | None = 0.0
            elif timers:
                timeout = max(0.0, timers[0][0] - monotonic())
            elif self._fd_waiters:
                timeout = None
            else:
                self.owner.throw(Deadlock("every greenlet is blocked and nothing is left to wake them"))
                continue
            if self._fd_waiters or timeout:
                for key, events in select(timeout):
                    watch = key.data
                    if events & EVENT_READ:
                        reader = watch.reader
                        if reader is not None:
                            watch.reader = None
                            self._fd_waiters -= 1
                            make_ready(reader.switch)
                        elif watch.events & EVENT_READ:  # nobody waits any more: drop the interest now
                            self._set_events(key.fd, watch, watch.events & ~EVENT_READ)
                    if events & EVENT_WRITE:
                        writer = watch.writer
                        if writer is not None:
                            watch.writer = None
                            self._fd_waiters -= 1
                            make_ready(writer.switch)
                        if watch.events & EVENT_WRITE:  # sockets stay writable: never keep this one idle
                            self._set_events(key.fd, watch, watch.events & ~EVENT_WRITE)
            if timers and timers[0][0] <= (now := monotonic()):
                while timers and timers[0][0] <= now:
                    entry = heappop(timers)
                    callback = entry[2]
                    if callback is None:
                        self._cancelled_timers -= 1
                    else:
                        entry[2] = None
                        callback()
            for _ in range(len(ready)):  # the queue only shrinks here (unschedule swaps in a no-op)
                run_next()()


_local = threading.local()


def get_hub() -> Hub:
    """This thread's hub, created on first use (keep that outside any timed window)."""
    try:
        hub: Hub = _local.hub
    except AttributeError:
        hub = _local.hub = Hub()
    return hub


# -- module-level primitives on this thread's hub ---------------------------------------------------


def spawn(fn: Callable[..., T], *args: Any) -> Task[T]:
    return get_hub().spawn(fn, *args)


def join_all(tasks: Iterable[Task[T]]) -> list[T]:
    return get_hub().join_all(tasks)


def sleep(seconds: float) -> None:
    get_hub().sleep(seconds)


def wait_readable(fd: int) -> None:
    get_hub().wait_readable(fd)


def wait_writable(fd: int) -> None:
    get_hub().wait_writable(fd)


# -- green sockets: non-blocking sockets that wait on the hub ---------------------------------------


def accept(listener: socket.socket) -> socket.socket:
    """Wait for and accept one connection; the new socket is non-blocking with TCP_NODELAY set."""
    while True:
        try:
            conn, _ = listener.accept()
        except BlockingIOError:
            wait_readable(listener.fileno())
            continue
        conn.setblocking(False)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn


def create_connection(host: str, port: int) -> socket.socket:
    """Connect a non-blocking TCP socket (TCP_NODELAY set), waiting on the hub while it connects."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        err = sock.connect_ex((host, port))
        if err in (errno.EINPROGRESS, errno.EAGAIN):
            wait_writable(sock.fileno())
            err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            raise OSError(err, os.strerror(err), (host, port))
    except BaseException:
        close(sock)
        raise
    return sock


def recv(sock: socket.socket, size: int) -> bytes:
    """Up to ``size`` bytes, waiting until some arrive; ``b""`` at end of stream."""
    while True:
        try:
            return sock.recv(size)
        except BlockingIOError:
            wait_readable(sock.fileno())


def recv_into(sock: socket.socket, buffer: Any) -> int:
    """Fill ``buffer`` with what has arrived, waiting until something has; 0 at end of stream."""
    while True:
        try:
            return sock.recv_into(buffer)
        except BlockingIOError:
            wait_readable(sock.fileno())


def sendall(sock: socket.socket, data: Any) -> None:
    """Send every byte of ``data``, waiting whenever the socket's send buffer is full."""
    try:
        sent = sock.send(data)
    except BlockingIOError:
        sent = 0
    total = len(data) if isinstance(data, bytes | bytearray) else memoryview(data).nbytes
    if sent == total:
        return
    view = memoryview(data).cast("B")
    while sent < total:
        try:
            sent += sock.send(view[sent:])
        except BlockingIOError:
            wait_writable(sock.fileno())


def close(sock: socket.socket) -> None:
    """Stop watching the socket (waiters get ``Cancelled``), then close it. Safe to call twice."""
    fd = sock.fileno()
    if fd >= 0:
        hub: Hub | None = getattr(_local, "hub", None)
        if hub is not None:
            hub.forget(fd)
    sock.close()
