"""The benchmark report is generated from results: markdown with every result beside its baseline, and plots."""

from bench.report import goal_met, write_report

SAMPLE = {
    "machine": "box x86_64 2 cores", "versions": {"Django": "5.2"}, "started_at": "2026-12-02 05:00 UTC",
    "results": [
        {"module": "bench_orders", "name": "orders/s", "value": 300.0, "baseline": 100.0, "unit": "orders/s",
         "ratio": 3.0, "goal": ">= 2", "series": {"p50 ms": [[0, 10], [1, 12]], "p99 ms": [[0, 40], [1, 45]]}},
        {"module": "bench_sync", "name": "p99 latency", "value": 80.0, "baseline": 50.0, "unit": "ms",
         "ratio": 1.6, "goal": 1.2, "lower_is_better": True, "notes": "a | pipe"},
    ],
}


def test_report_lists_each_result_with_ratio_goal_and_status_and_draws_pngs(tmp_path):
    out = write_report(SAMPLE, tmp_path / "BENCHMARKS.md")
    text = out.read_text()
    assert "bench_orders: orders/s | 300 | 100 | orders/s | 3 | >= 2 | met" in text
    assert "| **not met** |" in text and "a \\| pipe" in text
    assert "1 of 2 goals met" in text and "box x86_64 2 cores" in text and "Django 5.2" in text
    for png in ("ratios.png", "bench-orders-orders-s.png"):
        path = tmp_path / "img" / "bench" / png
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and f"img/bench/{png}" in text


def test_goals_as_numbers_or_comparisons():
    assert goal_met({"ratio": 2.0, "goal": 1.5}) is True
    assert goal_met({"ratio": 2.0, "goal": 1.5, "lower_is_better": True}) is False
    assert goal_met({"ratio": 0.4, "goal": "<= 0.5"}) is True
    assert goal_met({"ratio": 1.0, "goal": "faster"}) is None
