"""A small scheduler for plain generator coroutines: the pre-``async`` style, before ``await`` existed.

This is what the ``generators`` model runs on. A task is a generator; it ``yield``s a request object to
the scheduler and is resumed with ``generator.send(value)`` when the request is satisfied:

- ``yield Sleep(seconds)`` -> ``None`` after ``seconds`` (``<= 0``: just let the others run first);
- ``yield ReadWait(fd)`` / ``yield WriteWait(fd)`` -> ``None`` once ``fd`` is readable / writable;
- ``yield Spawn(generator)`` -> the new ``Task`` at once (the child starts at the scheduler's next turn);
- ``yield Join(tasks)`` -> the list of their results, in order, once all are done; if any failed, the
  first failure in task order is raised at the ``yield`` instead (errors propagate to the joiner).

Sub-generators are called with ``yield from``, and a generator's ``return`` value is its result
(``StopIteration.value``): that is both how ``yield from helper()`` gives back a value and how a task's
result reaches ``Join``. Only the standard library is used:

- ``generator.send`` / ``generator.throw`` to resume a task with a value or an exception;
- ``collections.deque`` as the ready queue of tasks (the value to send, or the exception to throw, is
  kept on the task, so a wake-up is one ``append`` and a cancellation can turn a queued send into a
  throw);
- ``heapq`` of ``[deadline, seq, task, timeout]`` lists on ``time.monotonic`` for sleeps and timeouts;
  a timer is cancelled by setting its task to ``None`` (lazy deletion, as asyncio does; the heap is
  compacted when cancelled entries are more than half of it);
- ``selectors.DefaultSelector`` (epoll on Linux) for fd readiness, with read interest left registered
  after it fired (libev's "lazy" scheme: a connection that waits to read again and again costs no
  ``epoll_ctl``; an interest nobody waits for is dropped when it next fires).

The loop has the shape of asyncio's ``_run_once``: compute the timeout from the ready queue and the
earliest timer, poll the selector (skipped when no fd is watched and nothing needs waiting for), queue
the tasks whose timers are due, then step exactly the tasks that were ready at that point. A step sends
the task its value and handles what it yields; a request that is answered at once (``Spawn``, ``Join``
of finished tasks) is answered within the same step, without a trip through the queue.

Cancellation: ``Scheduler.cancel(task)`` throws ``Cancelled`` into the task at its current ``yield``:
its pending request is withdrawn first (timer cancelled, fd wait dropped, join abandoned), so nothing
can resume it later; if it was already queued to resume, the queued send becomes the throw. A task
cancelled before it ever ran ends without running any of its code. Timeouts are built on it:
``with Timeout(seconds):`` inside a task arms a timer that cancels the task with that ``Timeout``
instance if it is still inside the block; leaving the block cancels the timer (modelled on
``gevent.Timeout``; ``silent=True`` swallows its own expiry, like trio's ``move_on_after``).

Sockets: ``accept``, ``create_connection``, ``recv``, ``sendall`` and ``close``
work on ordinary non-blocking ``socket.socket`` objects; the generator ones are used with
``yield from``. ``close`` (``Scheduler.forget``) wakes a task waiting on the socket with ``Closed``.

The scheduler is created once per thread (``get_scheduler()``) and reused for every ``run``.

Cost: a sleep fan-out takes a fraction of asyncio's time and CPU per task; inlining the ``Sleep``
handler into the step loop made no difference that survived the machine's noise (figures in
MEASUREMENTS.md).
"""

from __future__ import annotations

import errno
import gc
import heapq
import itertools
import os
import selectors
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable
from types import TracebackType
from typing import Any, Generic, TypeVar

T = TypeVar("T")

Coroutine = Generator[Any, Any, T]
"""A task's generator: yields requests, is sent their answers, returns the task's result."""

TimerEntry = list[Any]
"""A timer on the heap: ``[deadline, seq, task, timeout]``; ``task`` is ``None`` once cancelled or fired,
``timeout`` is ``None`` for a sleep and the ``Timeout`` to deliver otherwise."""

EVENT_READ = selectors.EVENT_READ
EVENT_WRITE = selectors.EVENT_WRITE

_COMPACT_MIN_CANCELLED = 100
"""Rebuild the timer heap when more than this many cancelled timers are more than half of it."""


class Deadlock(RuntimeError):
    """The main task waits, but nothing is left that could ever wake it."""


class Closed(ConnectionAbortedError):
    """Raised in a task whose fd wait ended because the fd was closed (``forget``/``close``)."""


class Cancelled(BaseException):
    """Thrown into a task at its current ``yield`` to cancel it (a ``BaseException``, like asyncio's)."""


# -- requests: what a task yields -----------------------------------------------------------------------


class Sleep:
    """``yield Sleep(seconds)``: resume after ``seconds``."""

    __slots__ = ("seconds",)

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds


class ReadWait:
    """``yield ReadWait(fd)``: resume once ``fd`` is readable."""

    __slots__ = ("fd",)

    def __init__(self, fd: int) -> None:
        self.fd = fd


class WriteWait:
    """``yield WriteWait(fd)``: resume once ``fd`` is writable."""

    __slots__ = ("fd",)

    def __init__(self, fd: int) -> None:
        self.fd = fd


class Spawn:
    """``task = yield Spawn(generator)``: start a child task; the answer is its ``Task`` handle."""

    __slots__ = ("coroutine",)

    def __init__(self, coroutine: Coroutine[Any]) -> None:
        self.coroutine = coroutine


class Join:
    """``results = yield Join(tasks)``: wait until every task is done; their results in order, or the first
    failure in task order raised at the ``yield``."""

    __slots__ = ("tasks",)

    def __init__(self, tasks: Iterable[Task[Any]]) -> None:
        self.tasks = tasks if isinstance(tasks, list) else list(tasks)


_SUSPEND = object()
"""What a request handler returns when the task must wait (anything else is sent back at once)."""


# -- tasks and what they wait on ---------------------------------------------------------------------


class Task(Generic[T]):
    """A generator being run by the scheduler; the handle ``Join`` waits on."""

    __slots__ = ("_exception", "_joiners", "_result", "_send", "_throw", "_value", "_waiting", "coroutine", "done")

    def __init__(self, coroutine: Coroutine[T]) -> None:
        self.coroutine = coroutine
        self._send = coroutine.send
        self._value: Any = None
        """What the next step sends (``None`` unless a request answers with a value)."""
        self._throw: BaseException | None = None
        """What the next step throws instead, if set (a cancellation or a failed join)."""
        self._waiting: Any = None
        """The pending request's token (timer entry, ``_Watch`` or ``_Joiner``); ``None`` when queued or running."""
        self._joiners: list[_Joiner] | None = None
        self._result: T | None = None
        self._exception: BaseException | None = None
        self.done = False

    def result(self) -> T:
        """The task's return value; re-raises its exception. Only valid once ``done``."""
        if not self.done:
            raise RuntimeError("the task has not finished; join it first")
        if self._exception is not None:
            raise self._exception
        return self._result  # type: ignore[return-value]

    @property
    def exception(self) -> BaseException | None:
        return self._exception


class _Joiner:
    """Counts a ``Join``'s children down to zero, then queues the joining task once."""

    __slots__ = ("count", "scheduler", "task", "tasks")

    def __init__(self, scheduler: Scheduler, task: Task[Any], tasks: list[Task[Any]], count: int) -> None:
        self.scheduler = scheduler
        self.task: Task[Any] | None = task
        self.tasks = tasks
        self.count = count

    def child_done(self) -> None:
        self.count -= 1
        task = self.task
        if self.count == 0 and task is not None:
            self.task = None
            task._waiting = None
            try:
                task._value = _outcome(self.tasks)
            except BaseException as failure:
                task._throw = failure
            self.scheduler._ready.append(task)


def _outcome(tasks: list[Task[Any]]) -> list[Any]:
    """The results of finished tasks in order, or the first failure among them raised."""
    for task in tasks:
        if task._exception is not None:
            raise task._exception
    return [task._result for task in tasks]


class _Watch:
    """Per-fd state: the task waiting to read, the one waiting to write, the registered events."""

    __slots__ = ("events", "reader", "writer")

    def __init__(self) -> None:
        self.reader: Task[Any] | None = None
        self.writer: Task[Any] | None = None
        self.events = 0


class Timeout(Cancelled):
    """``with Timeout(seconds):`` inside a task -- cancel the task with this instance if it is still inside
    the block after ``seconds``. Leaving the block cancels the timer. With ``silent=True`` the ``with``
    statement swallows its own expiry (only its own: an outer ``Timeout`` passes through); ``expired``
    tells what happened. One use per instance."""

    def __init__(self, seconds: float, *, silent: bool = False) -> None:
        super().__init__(seconds)
        self.seconds = seconds
        self.silent = silent
        self.expired = False
        self._scheduler: Scheduler | None = None
        self._task: Task[Any] | None = None
        self._timer: TimerEntry | None = None

    def __enter__(self) -> Timeout:
        if self._scheduler is not None:
            raise RuntimeError("a Timeout can be entered only once")
        scheduler = self._scheduler = get_scheduler()
        task = scheduler.current
        if task is None:
            raise RuntimeError("Timeout works only inside a task run by the scheduler")
        self._task = task
        entry = self._timer = [time.monotonic() + self.seconds, next(scheduler._seq), task, self]
        heapq.heappush(scheduler._timers, entry)
        return self

    def _expire(self, scheduler: Scheduler) -> None:  # the timer fired: the task is suspended inside the block
        self._timer = None
        self.expired = True
        task = self._task
        if task is not None:
            scheduler._interrupt(task, self)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        self._task = None
        timer, scheduler = self._timer, self._scheduler
        if timer is not None and scheduler is not None:  # left the block in time: the timer must never fire
            self._timer = None
            scheduler._cancel_timer(timer)
        return exc is self and self.silent


# -- the scheduler -------------------------------------------------------------------------------------


class Scheduler:
    """Runs generator tasks: a ready queue, a timer heap and a selector."""

    def __init__(self) -> None:
        self.current: Task[Any] | None = None
        """The task being stepped (``None`` outside ``run``)."""
        self._ready: deque[Task[Any]] = deque()
        self._timers: list[TimerEntry] = []
        self._cancelled_timers = 0
        self._seq = itertools.count()
        self._selector = selectors.DefaultSelector()
        self._watches: dict[int, _Watch] = {}
        self._fd_waiters = 0
        self._deferred: list[tuple[Task[Any], BaseException]] = []
        self._handlers: dict[type, Callable[[Task[Any], Any], Any]] = {
            Sleep: self._sleep,
            ReadWait: self._read_wait,
            WriteWait: self._write_wait,
            Spawn: self._spawn,
            Join: self._join,
        }

    # -- public ------------------------------------------------------------------

    def spawn(self, coroutine: Coroutine[T]) -> Task[T]:
        """Queue a new task running ``coroutine``; return its handle."""
        task = Task(coroutine)
        self._ready.append(task)
        return task

    def run(self, coroutine: Coroutine[T]) -> T:
        """Run ``coroutine`` as the main task until it finishes; return its result or raise its exception.
        Other tasks still pending then stay queued for the next ``run``."""
        main = self.spawn(coroutine)
        try:
            self._run_until(main)
        finally:
            self.current = None
        return main.result()

    def cancel(self, task: Task[Any], exception: Cancelled | None = None) -> None:
        """Throw ``exception`` (default ``Cancelled()``) into ``task`` at its current ``yield``."""
        if task is self.current:
            raise RuntimeError("a task cannot cancel itself; raise instead")
        self._interrupt(task, exception if exception is not None else Cancelled())

    def forget(self, fd: int) -> None:
        """Stop watching ``fd`` (call before closing it); tasks waiting on it get ``Closed``."""
        watch = self._watches.pop(fd, None)
        if watch is None:
            return
        if watch.events:
            self._selector.unregister(fd)
        for waiter in (watch.reader, watch.writer):
            if waiter is not None:
                self._interrupt(waiter, Closed(errno.ECONNABORTED, f"fd {fd} closed"))

    def scheduled(self) -> dict[str, int]:
        """What is still scheduled between runs: live timers, queued tasks, fd waits, unfinished tasks."""
        gc.collect()
        return {
            "timers": sum(1 for entry in self._timers if entry[2] is not None),
            "ready": len(self._ready),
            "fd_waiters": self._fd_waiters,
            "unfinished_tasks": sum(1 for obj in gc.get_objects() if isinstance(obj, Task) and not obj.done),
        }

    # -- request handlers: return _SUSPEND, or the value to send back at once ------

    def _sleep(self, task: Task[Any], request: Sleep) -> Any:
        if request.seconds > 0:
            entry = [time.monotonic() + request.seconds, next(self._seq), task, None]
            heapq.heappush(self._timers, entry)
            task._waiting = entry
        else:
            self._ready.append(task)
        return _SUSPEND

    def _read_wait(self, task: Task[Any], request: ReadWait) -> Any:
        fd = request.fd
        watch = self._watches.get(fd)
        if watch is None:
            watch = self._watches[fd] = _Watch()
        elif watch.reader is not None:
            raise RuntimeError(f"another task is already waiting to read fd {fd}")
        if not watch.events & EVENT_READ:
            self._set_events(fd, watch, watch.events | EVENT_READ)
        watch.reader = task
        self._fd_waiters += 1
        task._waiting = watch
        return _SUSPEND

    def _write_wait(self, task: Task[Any], request: WriteWait) -> Any:
        fd = request.fd
        watch = self._watches.get(fd)
        if watch is None:
            watch = self._watches[fd] = _Watch()
        elif watch.writer is not None:
            raise RuntimeError(f"another task is already waiting to write fd {fd}")
        if not watch.events & EVENT_WRITE:
            self._set_events(fd, watch, watch.events | EVENT_WRITE)
        watch.writer = task
        self._fd_waiters += 1
        task._waiting = watch
        return _SUSPEND

    def _spawn(self, task: Task[Any], request: Spawn) -> Any:
        child = Task(request.coroutine)
        self._ready.append(child)
        return child

    def _join(self, task: Task[Any], request: Join) -> Any:
        tasks = request.tasks
        pending = [child for child in tasks if not child.done]
        if not pending:
            return _outcome(tasks)
        joiner = _Joiner(self, task, tasks, len(pending))
        for child in pending:
            if child._joiners is None:
                child._joiners = [joiner]
            else:
                child._joiners.append(joiner)
        task._waiting = joiner
        return _SUSPEND

    # -- cancellation ----------------------------------------------------------------

    def _interrupt(self, task: Task[Any], exception: BaseException) -> None:
        """Withdraw the task's pending request and queue ``exception`` to be thrown in at its ``yield``."""
        if task.done:
            return
        waiting = task._waiting
        if waiting is None:  # queued already (woken, or never started): its next step throws instead
            if task._throw is None:
                task._throw = exception
            else:  # one throw is pending already: deliver this one after it
                self._deferred.append((task, exception))
            return
        task._waiting = None
        if type(waiting) is list:  # a sleep's timer
            self._cancel_timer(waiting)
        elif type(waiting) is _Watch:
            if waiting.reader is task:
                waiting.reader = None
                self._fd_waiters -= 1
            if waiting.writer is task:
                waiting.writer = None
                self._fd_waiters -= 1
        else:  # a _Joiner: the children finishing must not queue the task again
            waiting.task = None
        task._value = None
        task._throw = exception
        self._ready.append(task)

    def _cancel_timer(self, entry: TimerEntry) -> None:
        if entry[2] is None:
            return
        entry[2] = None
        self._cancelled_timers += 1
        timers = self._timers
        if self._cancelled_timers > _COMPACT_MIN_CANCELLED and 2 * self._cancelled_timers > len(timers):
            timers[:] = [live for live in timers if live[2] is not None]  # in place: the loop holds this list
            heapq.heapify(timers)
            self._cancelled_timers = 0

    def _deliver_deferred(self) -> None:
        deferred, self._deferred = self._deferred, []
        for task, exception in deferred:
            if isinstance(exception, Timeout) and exception._task is not task:
                continue  # the task left that Timeout's block meanwhile
            self._interrupt(task, exception)

    # -- the loop -----------------------------------------------------------------------

    def _set_events(self, fd: int, watch: _Watch, events: int) -> None:
        if not watch.events:
            self._selector.register(fd, events, watch)
        elif events:
            self._selector.modify(fd, events, watch)
        else:
            self._selector.unregister(fd)
        watch.events = events

    def _finish(self, task: Task[Any], result: Any, exception: BaseException | None) -> None:
        task.done = True
        task._result = result
        task._exception = exception
        joiners = task._joiners
        if joiners is not None:
            task._joiners = None
            for joiner in joiners:
                joiner.child_done()

    def _step(self, task: Task[Any]) -> None:
        """Resume ``task`` and handle what it yields, until it waits or finishes."""
        self.current = task
        value = task._value
        if value is not None:
            task._value = None
        error = task._throw
        if error is not None:
            task._throw = None
        send = task._send
        handlers = self._handlers
        while True:
            try:
                request = send(value) if error is None else task.coroutine.throw(error)
            except StopIteration as stop:
                self._finish(task, stop.value, None)
                return
            except BaseException as failure:  # the task's error: kept for its joiner, never escapes the loop
                self._finish(task, None, failure)
                return
            handler = handlers.get(type(request))
            if handler is None:
                error = TypeError(f"a task yielded {request!r}, which is not a scheduler request")
                continue
            try:
                value = handler(task, request)
            except Exception as refused:  # e.g. a Join of failed tasks: raised at the task's yield
                error = refused
                continue
            if value is _SUSPEND:
                return
            error = None

    def _run_until(self, main: Task[Any]) -> None:
        ready = self._ready
        next_task = ready.popleft
        make_ready = ready.append
        timers = self._timers
        heappop = heapq.heappop
        monotonic = time.monotonic
        select = self._selector.select
        step = self._step
        while not main.done:
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
                raise Deadlock("the main task waits, and nothing is left that could wake it")
            if self._fd_waiters or timeout:
                for key, events in select(timeout):
                    watch = key.data
                    if events & EVENT_READ:
                        reader = watch.reader
                        if reader is not None:
                            watch.reader = None
                            self._fd_waiters -= 1
                            reader._waiting = None
                            make_ready(reader)
                        elif watch.events & EVENT_READ:  # nobody waits any more: drop the interest now
                            self._set_events(key.fd, watch, watch.events & ~EVENT_READ)
                    if events & EVENT_WRITE:
                        writer = watch.writer
                        if writer is not None:
                            watch.writer = None
                            self._fd_waiters -= 1
                            writer._waiting = None
                            make_ready(writer)
                        if watch.events & EVENT_WRITE:  # sockets stay writable: never keep this one idle
                            self._set_events(key.fd, watch, watch.events & ~EVENT_WRITE)
            if timers and timers[0][0] <= (now := monotonic()):
                while timers and timers[0][0] <= now:
                    entry = heappop(timers)
                    task = entry[2]
                    if task is None:
                        self._cancelled_timers -= 1
                        continue
                    entry[2] = None
                    timeout_due = entry[3]
                    if timeout_due is None:
                        task._waiting = None
                        make_ready(task)
                    else:
                        timeout_due._expire(self)
            for _ in range(len(ready)):
                step(next_task())
            if self._deferred:
                self._deliver_deferred()


_local = threading.local()


def get_scheduler() -> Scheduler:
    """This thread's scheduler, created on first use (keep that outside any timed window)."""
    try:
        scheduler: Scheduler = _local.scheduler
    except AttributeError:
        scheduler = _local.scheduler = Scheduler()
    return scheduler


# -- sockets: non-blocking sockets that wait with the scheduler's requests ----------------------------


def accept(listener: socket.socket) -> Coroutine[socket.socket]:
    """``conn = yield from accept(listener)``: non-blocking, with TCP_NODELAY set."""
    while True:
        try:
            conn, _ = listener.accept()
        except BlockingIOError:
            yield ReadWait(listener.fileno())
            continue
        conn.setblocking(False)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn


def create_connection(host: str, port: int) -> Coroutine[socket.socket]:
    """``sock = yield from create_connection(host, port)``: connected, non-blocking, TCP_NODELAY set."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        err = sock.connect_ex((host, port))
        if err in (errno.EINPROGRESS, errno.EAGAIN):
            yield WriteWait(sock.fileno())
            err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            raise OSError(err, os.strerror(err), (host, port))
    except BaseException:
        close(sock)
        raise
    return sock


def recv(sock: socket.socket, size: int) -> Coroutine[bytes]:
    """``data = yield from recv(sock, size)``: up to ``size`` bytes once some arrived; ``b""`` at end of stream."""
    while True:
        try:
            return sock.recv(size)
        except BlockingIOError:
            yield ReadWait(sock.fileno())


def sendall(sock: socket.socket, data: bytes, sent: int = 0) -> Coroutine[None]:
    """``yield from sendall(sock, data)``: every byte from offset ``sent`` on, waiting while the buffer is full."""
    total = len(data)
    view = memoryview(data)
    while sent < total:
        try:
            sent += sock.send(view[sent:])
        except BlockingIOError:
            yield WriteWait(sock.fileno())


def close(sock: socket.socket) -> None:
    """Stop watching the socket (a task waiting on it gets ``Closed``), then close it. Safe to call twice."""
    fd = sock.fileno()
    if fd >= 0:
        scheduler: Scheduler | None = getattr(_local, "scheduler", None)
        if scheduler is not None:
            scheduler.forget(fd)
    sock.close()
