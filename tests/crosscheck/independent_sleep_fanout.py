"""Independent sleep fan-out: each library's textbook form, timed outside the suite, side by side with it.

Run: ``python -m tests.crosscheck.independent_sleep_fanout [N] [ROUNDS]``. For every model it starts a
fresh interpreter running the shortest expert form of "spawn N tasks that each sleep 10 ms, gather
them" straight from the library's documentation (no corobench code: no window, no worker, no
harness), times ``ROUNDS`` rounds after one warm-up with ``time.perf_counter`` around spawn-to-
gathered, and prints the median. Run the suite's cells for the same N just before or after
(``pytest benchmarks --workloads=sleep_fanout -k 10000``) and compare the medians: the suite's
implementation should sit within 0.8x-1.25x of the independent one, neither flattered nor handicapped.
"""

from __future__ import annotations

import json
import subprocess
import sys

PRELUDE = """
import gc, json, statistics, sys, time
N, ROUNDS, DELAY = int(sys.argv[1]), int(sys.argv[2]), 0.01
def report(times): print(json.dumps(statistics.median(times[1:])))
"""

PROGRAMS = {
    "asyncio": """
import asyncio
async def task(i):
    await asyncio.sleep(DELAY); return i
async def main():
    times = []
    for _ in range(ROUNDS + 1):
        gc.collect(); t = time.perf_counter()
        results = await asyncio.gather(*(task(i) for i in range(N)))
        times.append(time.perf_counter() - t); assert sorted(results) == list(range(N))
    report(times)
asyncio.run(main())
""",
    "uvloop": """
import asyncio, uvloop
async def task(i):
    await asyncio.sleep(DELAY); return i
async def main():
    times = []
    for _ in range(ROUNDS + 1):
        gc.collect(); t = time.perf_counter()
        results = await asyncio.gather(*(task(i) for i in range(N)))
        times.append(time.perf_counter() - t); assert sorted(results) == list(range(N))
    report(times)
uvloop.run(main())
""",
    "trio": """
import trio
async def main():
    times = []
    for _ in range(ROUNDS + 1):
        results = []
        async def task(i):
            await trio.sleep(DELAY); results.append(i)
        gc.collect(); t = time.perf_counter()
        async with trio.open_nursery() as nursery:
            for i in range(N):
                nursery.start_soon(task, i)
        times.append(time.perf_counter() - t); assert sorted(results) == list(range(N))
    report(times)
trio.run(main)
""",
    "gevent": """
from gevent import monkey; monkey.patch_all()
import gevent
def task(i):
    time.sleep(DELAY); return i
times = []
for _ in range(ROUNDS + 1):
    gc.collect(); t = time.perf_counter()
    jobs = [gevent.spawn(task, i) for i in range(N)]
    gevent.joinall(jobs)
    times.append(time.perf_counter() - t); assert sorted(j.value for j in jobs) == list(range(N))
report(times)
""",
    "eventlet": """
import eventlet; eventlet.monkey_patch()
def task(i):
    time.sleep(DELAY); return i
times = []
for _ in range(ROUNDS + 1):
    gc.collect(); t = time.perf_counter()
    pool = eventlet.GreenPool(N)
    results = list(pool.imap(task, range(N)))
    times.append(time.perf_counter() - t); assert sorted(results) == list(range(N))
report(times)
""",
    "tornado": """
from tornado import gen, ioloop
async def task(i):
    await gen.sleep(DELAY); return i
async def main():
    times = []
    for _ in range(ROUNDS + 1):
        gc.collect(); t = time.perf_counter()
        results = await gen.multi([task(i) for i in range(N)])
        times.append(time.perf_counter() - t); assert sorted(results) == list(range(N))
    report(times)
ioloop.IOLoop.current().run_sync(main)
""",
    "twisted": """
from twisted.internet import defer, task as ttask
async def one(reactor, i):
    await ttask.deferLater(reactor, DELAY, lambda: None); return i
async def main(reactor):
    times = []
    for _ in range(ROUNDS + 1):
        gc.collect(); t = time.perf_counter()
        results = await defer.gatherResults([defer.Deferred.fromCoroutine(one(reactor, i)) for i in range(N)])
        times.append(time.perf_counter() - t); assert sorted(results) == list(range(N))
    report(times)
ttask.react(lambda reactor: defer.Deferred.fromCoroutine(main(reactor)))
""",
    "threads": """
import threading
times = []
for _ in range(ROUNDS + 1):
    results = []
    def task(i):
        time.sleep(DELAY); results.append(i)
    gc.collect(); t = time.perf_counter()
    threads = [threading.Thread(target=task, args=(i,)) for i in range(N)]
    for th in threads: th.start()
    for th in threads: th.join()
    times.append(time.perf_counter() - t); assert sorted(results) == list(range(N))
report(times)
""",
}


def independent_median(model: str, n: int, rounds: int) -> float:
    result = subprocess.run(
        [sys.executable, "-c", PRELUDE + PROGRAMS[model], str(n), str(rounds)],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return float(json.loads(result.stdout.strip().splitlines()[-1]))


def main(argv: list[str]) -> int:
    n = int(argv[0]) if argv else 10_000
    rounds = int(argv[1]) if len(argv) > 1 else 10
    for model in PROGRAMS:
        print(f"{model:10s} {independent_median(model, n, rounds) * 1e3:9.1f} ms", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
