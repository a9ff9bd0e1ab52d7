"""How far can the open-loop generator be trusted here? Its lag against a server it cannot overload.

``python -m benchmarks.harness.generator_trust [RATES] [--repeats N]`` (run it under the CPU lock)
offers each rate to the reference echo server (``workloads.peers.reference_server``: an epoll loop
that echoes 1 KiB in a few microseconds, on the other core) over 10 connections, ``repeats`` times,
and prints which loop the generator ran (``COROBENCH_GENERATOR=c|python`` chooses), the generator's lag
p99 and max and the latency p50/p99 per rate, then the highest rate whose median lag p99 stayed within
``tcp_latency.LAG_BOUND_S``.
"""

from __future__ import annotations

import argparse
import statistics

from benchmarks.harness.echo_harness import open_loop_generator, pin_pair, reference_server
from workloads.specs import tcp_latency as spec

RATES = (1000, 5000, 10_000, 20_000, 30_000, 40_000, 50_000, 60_000, 70_000, 80_000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rates", nargs="?", default=",".join(map(str, RATES)))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--duration", type=float, default=1.0)
    args = parser.parse_args()
    trusted = 0.0
    with reference_server() as server, open_loop_generator() as generator:
        pin_pair(server, generator)
        generator.call({"op": "connect", "port": server.hello["port"], "connections": 10, "message_size": 1024}, 30, "")
        print(f"generator loop: {generator.hello['generator_impl']} (COROBENCH_GENERATOR=c|python chooses)")
        for rate in (float(r) for r in args.rates.split(",")):
            runs = [
                generator.call(
                    {"op": "measure", "rate": rate, "warmup_s": 0.2, "duration_s": args.duration, "drain_s": 1.0}
                    | {"seed": k},
                    60,
                    f"{rate} msgs/s",
                )
                for k in range(args.repeats)
            ]
            lag = statistics.median(r["generator_lag_p99_s"] for r in runs)
            print(
                f"{rate:8.0f} msgs/s: lag p99 {lag * 1e6:7.0f} us (runs: "
                + ", ".join(f"{r['generator_lag_p99_s'] * 1e6:.0f}" for r in runs)
                + f"), lag max {max(r['generator_lag_max_s'] for r in runs) * 1e6:.0f} us, latency p50 "
                f"{statistics.median(r['latency_p50_s'] for r in runs) * 1e6:.0f} us, p99 "
                f"{statistics.median(r['latency_p99_s'] for r in runs) * 1e6:.0f} us, achieved "
                f"{statistics.median(r['achieved_msgs_per_s'] for r in runs):.0f} msgs/s"
            )
            if lag <= spec.LAG_BOUND_S:
                trusted = max(trusted, rate)
    print(f"highest rate with median lag p99 <= {spec.LAG_BOUND_S * 1e6:.0f} us: {trusted:.0f} msgs/s")


if __name__ == "__main__":
    main()
