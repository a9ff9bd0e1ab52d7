"""Independent sleep fan-out: each library's textbook forms, timed outside the suite, side by side with it.

Run: ``python -m tests.crosscheck.independent_sleep_fanout [--n N] [--rounds R] [--gc on|off]
[--suite RUN.json]``. For every library it starts a fresh interpreter running short expert forms of
"spawn N tasks that each sleep 10 ms, gather them", straight from the library's documentation (no
corobench code: no window, no worker, no harness), times ``R`` rounds after one warm-up with
``time.perf_counter`` around spawn-to-gathered, and prints the median of each form.

- Where the suite uses one of two idiomatic forms, both are here: the *same idiom* as the suite's
  (asyncio ``TaskGroup``, eventlet ``spawn`` + ``wait``) is the one the suite is compared with, and the
  other (``gather``, ``GreenPool.imap``) shows how far the idioms themselves differ.
- ``--gc off`` disables automatic garbage collection inside each round (after a ``gc.collect()``).
  Fan-out rounds allocate tens of thousands of tracked objects, and how many full collections fall
  into a round depends on the program around the tasks, not on the tasks: run the suite with
  ``COROBENCH_GC=off`` too, and the comparison is of the implementations alone.
- ``--suite RUN.json`` reads the suite's cells for the same N (``pytest benchmarks
  --workloads=sleep_fanout -k 10000 --benchmark-json=RUN.json``, run just before) and prints each
  default variant's median over the same-idiom form's: the suite should sit within 0.8x-1.25x of it,
  neither flattered nor handicapped.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

PRELUDE = """
import gc, json, statistics, sys, time
N, ROUNDS, DELAY, GC_ON = int(sys.argv[1]), int(sys.argv[2]), 0.01, sys.argv[3] == "on"
def report(times): print(json.dumps(statistics.median(times[1:])))
def start_round():
    gc.collect()
    if not GC_ON:
        gc.disable()
    return time.perf_counter()
def end_round(started, times):
    times.append(time.perf_counter() - started)
    gc.enable()
"""

TASKGROUP = """
async def task(i):
    await asyncio.sleep(DELAY); return i
async def main():
    times = []
    for _ in range(ROUNDS + 1):
        t = start_round()
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(task(i)) for i in range(N)]
        end_round(t, times); assert sorted(t.result() for t in tasks) == list(range(N))
    report(times)
"""

EVENTLET = """
import eventlet; eventlet.monkey_patch()
def task(i):
    time.sleep(DELAY); return i
times = []
for _ in range(ROUNDS + 1):
    t = start_round()
    {gather}
    end_round(t, times); assert sorted(results) == list(range(N))
report(times)
"""

PROGRAMS = {
    "asyncio": "import asyncio" + TASKGROUP + "asyncio.run(main())",
    "asyncio (gather)": """
import asyncio
async def task(i):
    await asyncio.sleep(DELAY); return i
async def main():
    times = []
    for _ in range(ROUNDS + 1):
        t = start_round()
        results = await asyncio.gather(*(task(i) for i in range(N)))
        end_round(t, times); assert sorted(results) == list(range(N))
    report(times)
asyncio.run(main())
""",
    "uvloop": "import asyncio, uvloop" + TASKGROUP + "uvloop.run(main())",
    "uvloop (gather)": """
import asyncio, uvloop
async def task(i):
    await asyncio.sleep(DELAY); return i
async def main():
    times = []
    for _ in range(ROUNDS + 1):
        t = start_round()
        results = await asyncio.gather(*(task(i) for i in range(N)))
        end_round(t, times); assert sorted(results) == list(range(N))
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
        t = start_round()
        async with trio.open_nursery() as nursery:
            for i in range(N):
                nursery.start_soon(task, i)
        end_round(t, times); assert sorted(results) == list(range(N))
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
    t = start_round()
    jobs = [gevent.spawn(task, i) for i in range(N)]
    gevent.joinall(jobs)
    end_round(t, times); assert sorted(j.value for j in jobs) == list(range(N))
report(times)
""",
    "eventlet": EVENTLET.format(
        gather="threads = [eventlet.spawn(task, i) for i in range(N)]; results = [g.wait() for g in threads]"
    ),
    "eventlet (GreenPool.imap)": EVENTLET.format(gather="results = list(eventlet.GreenPool(N).imap(task, range(N)))"),
    "tornado": """
from tornado import gen, ioloop
async def task(i):
    await gen.sleep(DELAY); return i
async def main():
    times = []
    for _ in range(ROUNDS + 1):
        t = start_round()
        results = await gen.multi([task(i) for i in range(N)])
        end_round(t, times); assert sorted(results) == list(range(N))
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
        t = start_round()
        results = await defer.gatherResults([defer.Deferred.fromCoroutine(one(reactor, i)) for i in range(N)])
        end_round(t, times); assert sorted(results) == list(range(N))
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
    t = start_round()
    threads = [threading.Thread(target=task, args=(i,)) for i in range(N)]
    for th in threads: th.start()
    for th in threads: th.join()
    end_round(t, times); assert sorted(results) == list(range(N))
report(times)
""",
}


def independent_median(form: str, n: int, rounds: int, gc_on: bool) -> float:
    result = subprocess.run(
        [sys.executable, "-c", PRELUDE + PROGRAMS[form], str(n), str(rounds), "on" if gc_on else "off"],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return float(json.loads(result.stdout.strip().splitlines()[-1]))


def suite_medians(path: str, n: int) -> dict[str, float]:
    """Median seconds of each model's default-variant sleep_fanout cell at ``n`` in a saved run."""
    medians = {}
    for bench in json.loads(Path(path).read_text())["benchmarks"]:
        info = bench["extra_info"]
        if info.get("workload") == "sleep_fanout" and info["params"]["n"] == n and info.get("default_variant"):
            medians[info["model"]] = bench["stats"]["median"]
    return medians


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--gc", choices=("on", "off"), default="on")
    parser.add_argument("--suite", help="a saved run with the suite's sleep_fanout cells at the same N")
    args = parser.parse_args(argv)
    suite = suite_medians(args.suite, args.n) if args.suite else {}
    print(f"sleep_fanout N={args.n}, collector {args.gc} in the independent rounds")
    for form in PROGRAMS:
        seconds = independent_median(form, args.n, args.rounds, args.gc == "on")
        line = f"{form:28s} {seconds * 1e3:9.1f} ms"
        if form in suite:  # the same-idiom form carries the model's bare name
            ratio = suite[form] / seconds
            verdict = "within" if 0.8 <= ratio <= 1.25 else "OUTSIDE"
            line += f"   suite {suite[form] * 1e3:9.1f} ms   suite/independent {ratio:.2f} ({verdict} 0.8-1.25)"
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
