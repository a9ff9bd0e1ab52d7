"""The stdlib statistics behind run comparisons, and the number formatting the tables rely on."""

from __future__ import annotations

import json
import math
import random
from dataclasses import replace
from pathlib import Path

import pytest

from reports.judge.compare import FASTER, NOISE, SLOWER, assess
from reports.judge.stats import benjamini_hochberg, bootstrap_ratio_ci, mann_whitney, smallest_p
from reports.read.run import load_run, merge_runs
from reports.write import fmt

QUICK = Path(__file__).resolve().parent / "fixtures" / "run_asyncio_quick.json"


def test_exact_mann_whitney_matches_the_textbook_values() -> None:
    assert mann_whitney([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]) == pytest.approx(2 / math.comb(10, 5))
    assert mann_whitney([1, 2, 3], [4, 5, 6]) == pytest.approx(0.1)
    assert mann_whitney([1, 3, 5], [2, 4, 6]) == pytest.approx(0.7)  # U = 3 of 9: P(U <= 3) = 7/20
    assert mann_whitney([5.0], [5.0]) == 1.0
    assert mann_whitney([], [1.0]) == 1.0


def test_mann_whitney_with_ties_uses_the_corrected_normal_approximation() -> None:
    # U = 3, mean 12.5, tie-corrected variance 25/12 * (11 - 60/90); continuity corrected.
    expected = math.erfc((9.5 - 0.5) / math.sqrt(25 / 12 * (11 - 60 / 90)) / math.sqrt(2))
    assert mann_whitney([1, 1, 2, 2, 3], [2, 3, 3, 4, 4]) == pytest.approx(expected)


def test_mann_whitney_is_symmetric_and_rarely_fires_on_identical_distributions() -> None:
    rng = random.Random(3)
    fired = 0
    for _ in range(200):
        a = [rng.gauss(1, 0.1) for _ in range(10)]
        b = [rng.gauss(1, 0.1) for _ in range(10)]
        assert mann_whitney(a, b) == pytest.approx(mann_whitney(b, a))
        fired += mann_whitney(a, b) < 0.05
    assert fired < 20


def test_smallest_p_tells_when_no_change_can_be_significant() -> None:
    assert smallest_p(3, 3) == pytest.approx(0.1)
    assert smallest_p(5, 5) < 0.05


def test_benjamini_hochberg() -> None:
    adjusted = benjamini_hochberg([0.01, 0.04, 0.03, 0.5])
    # ranks 1..4 -> 0.01*4/1, 0.03*4/2, 0.04*4/3, 0.5*4/4, then made monotone from the largest down
    assert adjusted == pytest.approx([0.04, 0.16 / 3, 0.16 / 3, 0.5])
    assert benjamini_hochberg([]) == []


def test_bootstrap_interval_covers_the_true_ratio_and_is_reproducible() -> None:
    rng = random.Random(1)
    old = [rng.gauss(1.0, 0.05) for _ in range(20)]
    new = [rng.gauss(1.5, 0.075) for _ in range(20)]
    low, high = bootstrap_ratio_ci(old, new)
    assert low < 1.5 < high and high - low < 0.2
    assert bootstrap_ratio_ci(old, new) == (low, high)


def test_assess_without_raw_data_compares_interquartile_ranges() -> None:
    (base,) = load_run(QUICK).results[:1]
    plain = replace(base, stats=replace(base.stats, data=()))
    slower = replace(plain, stats=replace(plain.stats, median=1.0, q1=0.9, q3=1.1))
    faster = replace(plain, stats=replace(plain.stats, median=0.001, q1=0.0009, q3=0.0011))
    assert assess(plain, slower).verdict == SLOWER
    assert assess(plain, faster).verdict == FASTER
    assert assess(plain, plain).verdict == NOISE
    assert assess(plain, plain).p_value is None


def test_merging_runs_keeps_the_later_result_and_warns(tmp_path: Path) -> None:
    doc = json.loads(QUICK.read_text())
    doc["machine_info"]["node"] = "other"
    second = tmp_path / "second.json"
    second.write_text(json.dumps(doc))
    merged = merge_runs([load_run(QUICK), load_run(second)])
    assert len(merged.results) == len(load_run(QUICK).results)
    assert any("different machines" in w for w in merged.warnings)
    assert any("appears in several runs" in w for w in merged.warnings)


@pytest.mark.parametrize(
    ("key", "value", "text"),
    [
        ("median_s", 0.07945123, "79.45 ms"),
        ("overhead_per_task_s", 6.873e-06, "6.873 µs"),
        ("server_cpu_per_msg_s", 2.5e-09, "2.5 ns"),
        ("rss_per_task_bytes", 81.92, "81.92 B"),
        ("rss_per_connection_bytes", 75000, "73.24 KiB"),
        ("throughput_msgs_per_s", 46900.0, "46.9 k msg/s"),
        ("throughput_bytes_per_s", 11578494.3, "11.04 MiB/s"),
        ("server_cpu_util", 0.2837, "28%"),
        ("cpu_share", 0.739, "74%"),
        ("speedup_vs_one_core", 0.8594, "0.86x"),
        ("client_bound", True, "yes"),
        ("completed", 498, "498"),
        ("anything", None, "—"),
    ],
)
def test_metric_formatting_follows_the_key_suffix(key: str, value: object, text: str) -> None:
    assert fmt.metric(key, value) == text


def test_relative_wording() -> None:
    assert fmt.relative(0.1823, 0.07945, "asyncio") == "2.29x slower than asyncio"
    assert fmt.relative(0.05, 0.1, "asyncio") == "2.00x faster than asyncio"
    assert fmt.relative(0.1, 0.1002, "asyncio") == "same as asyncio"
