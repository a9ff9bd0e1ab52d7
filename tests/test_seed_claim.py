"""The report's paragraph on the seed's claim compares like with like and says what the cores allowed.

The multi-core models' echo servers are ``asyncio.Protocol`` servers, so the paragraph sets them against
asyncio's ``protocol`` variant, not its default streams server (whose extra cost would pass for the
cores' gain); a cell whose server side had one core says it ran one loop.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from reports.judge.ranking import judge_group
from reports.read.run import Result
from reports.write.hybrid_claim import seed_claim
from tests.test_reports_judgement import rounds, stats_of

ECHO_GROUP = "tcp_echo[connections=10,message_size=1024]"


def echo(
    model: str, variant: str | None, seconds: float, default: bool = True, extra: dict[str, Any] | None = None
) -> Result:
    info = {
        "model": model,
        "workload": "tcp_echo",
        "default_variant": default,
        "bottleneck": "under_test",
        **(extra or {}),
    }
    return Result(
        group=ECHO_GROUP,
        name=f"test_tcp_echo[{model}-{variant}]",
        fullname=f"b.py::test_tcp_echo[{model}-{variant}]",
        model=model,
        variant=variant,
        workload="tcp_echo",
        params={"connections": 10, "message_size": 1024},
        stats=stats_of(rounds(seconds)),
        extra=info,
    )


ONE_LOOP: dict[str, Any] = {"server_loops": 1, "parallel_loops": 1, "server_cores_given": 1}


def test_the_hybrid_is_set_against_asyncios_protocol_server_not_its_streams() -> None:
    verdict = judge_group(
        ECHO_GROUP,
        [
            echo("asyncio", "streams", 0.0015),
            echo("asyncio", "protocol", 0.0010, default=False),
            echo("multiprocess_asyncio", None, 0.0010, extra=ONE_LOOP),
        ],
    )
    claim = seed_claim([verdict], 2)
    assert claim is not None
    assert "tcp_echo (against asyncio (protocol)): multiprocess_asyncio tied" in claim
    assert "1 core given, 1 loop" in claim
    assert "the side under test had one core" in claim


def test_every_multi_core_model_is_compared_and_a_faster_one_says_so() -> None:
    two_loops: dict[str, Any] = {"server_loops": 2, "parallel_loops": 2, "server_cores_given": 2}
    verdict = judge_group(
        ECHO_GROUP,
        [
            echo("asyncio", "streams", 0.0015),
            echo("asyncio", "protocol", 0.0010, default=False),
            echo("multiprocess_asyncio", None, 0.0005, extra=two_loops),
            echo("asyncio_threads", None, 0.0010, extra={**two_loops, "parallel_loops": 1}),
        ],
    )
    claim = seed_claim([verdict], 3)
    assert claim is not None
    assert "multiprocess_asyncio 2.00x faster (2 cores given, 2 loops)" in claim
    assert "asyncio_threads tied" in claim
    assert "had one core" not in claim


def test_a_lighter_group_with_a_like_for_like_pair_stands_in_for_the_heaviest() -> None:
    heaviest = judge_group(ECHO_GROUP, [echo("asyncio", "streams", 0.0015), echo("multiprocess_asyncio", None, 0.001)])
    lighter_group = "tcp_echo[connections=1,message_size=1024]"
    lighter = judge_group(
        lighter_group,
        [
            dataclasses.replace(echo("asyncio", "protocol", 0.0010, default=False), group=lighter_group),
            dataclasses.replace(echo("multiprocess_asyncio", None, 0.0010), group=lighter_group),
        ],
    )
    claim = seed_claim([heaviest], 2, [lighter, heaviest])
    assert claim is not None and f"{lighter_group} (against asyncio (protocol)): multiprocess_asyncio tied" in claim


def test_no_like_for_like_asyncio_cell_means_no_comparison() -> None:
    verdict = judge_group(ECHO_GROUP, [echo("asyncio", "streams", 0.0015), echo("multiprocess_asyncio", None, 0.001)])
    assert seed_claim([verdict], 2) is None
