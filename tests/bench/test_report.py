"""The benchmark page is generated from the stored per-module results: every result beside its baseline with
ratio, goal and met/not met, each module's own machine/date/versions, and the plots."""

import json

import pytest

from bench.report import goal_met, load_failures, load_history, load_runs, write_report

PNG = b"\x89PNG\r\n\x1a\n"
ORDERS = {
    "module": "bench_orders", "machine": "box x86_64 2 cores", "versions": {"Django": "5.2"},
    "started_at": "2026-12-02 05:00 UTC", "seconds": 40.5,
    "results": [
        {"name": "orders/s", "value": 300.0, "baseline": 100.0, "unit": "orders/s", "ratio": 3.0, "goal": ">= 2",
         "series": {"p50 ms": [[0, 10], [1, 12]], "p99 ms": [[0, 40], [1, 45]]}},
    ],
}
SYNC = {
    "module": "bench_sync", "machine": "other-box x86_64 4 cores", "versions": {"Django": "5.2", "PostgreSQL": "15"},
    "started_at": "2026-12-01 22:00 UTC", "seconds": 100.0,
    "results": [
        {"name": "p99 latency", "value": 80.0, "baseline": 50.0, "unit": "ms", "ratio": 1.6, "goal": 1.2,
         "lower_is_better": True, "notes": "a | pipe"},
        {"name": "p50 latency", "value": 5.0, "baseline": 4.0, "unit": "ms", "ratio": 1.25,
         "goal": "informational"},
    ],
}


@pytest.fixture
def stored(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    for run in (SYNC, ORDERS):
        (results / f"{run['module']}.json").write_text(json.dumps(run))
    (results / "soak.json").write_text("{}")  # not a bench module: never on this page
    history = [{"module": "bench_orders", "started_at": at, "name": "orders/s", "value": v, "baseline": 100.0,
                "ratio": v / 100} for at, v in (("2026-12-01 05:00 UTC", 250.0), ("2026-12-02 05:00 UTC", 300.0))]
    (results / "history.jsonl").write_text("".join(json.dumps(h) + "\n" for h in history))
    return results


def test_page_composes_every_stored_module_with_its_own_machine_date_and_versions(stored, tmp_path):
    runs = load_runs(stored)
    assert [run["module"] for run in runs] == ["bench_orders", "bench_sync"]
    text = write_report(runs, tmp_path / "BENCHMARKS.md", history=load_history(stored)).read_text()
    assert "| bench_orders | 2026-12-02 05:00 UTC | 40.5 | box x86_64 2 cores | Django 5.2 |" in text
    assert "| bench_sync | 2026-12-01 22:00 UTC | 100 | other-box x86_64 4 cores | Django 5.2, PostgreSQL 15 |" in text


def test_each_result_beside_its_baseline_with_ratio_goal_and_status(stored, tmp_path):
    text = write_report(load_runs(stored), tmp_path / "BENCHMARKS.md").read_text()
    assert "| bench_orders: orders/s | 300 | 100 | orders/s | 3 | >= 2 | met |" in text
    assert "| bench_sync: p99 latency | 80 | 50 | ms (lower is better) | 1.6 | 1.2 | **not met** | a \\| pipe |" in text
    assert "| bench_sync: p50 latency | 5 | 4 | ms | 1.25 | informational | n/a |" in text
    assert "1 of 2 goals met (1 informational)" in text


def test_plots_are_png_files_linked_from_the_page(stored, tmp_path):
    text = write_report(load_runs(stored), tmp_path / "BENCHMARKS.md", history=load_history(stored)).read_text()
    for png in ("ratios.png", "throughput.png", "latency.png", "history.png", "bench-orders-orders-s.png"):
        assert (tmp_path / "img" / "bench" / png).read_bytes()[:8] == PNG
        assert f"(img/bench/{png})" in text


def test_a_page_without_latency_results_draws_no_latency_plot(stored, tmp_path):
    (stored / "bench_sync.json").unlink()
    text = write_report(load_runs(stored), tmp_path / "BENCHMARKS.md").read_text()
    assert "latency.png" not in text and not (tmp_path / "img" / "bench" / "latency.png").exists()
    assert "bench_sync" not in text


def test_a_failed_module_is_named_with_its_error_and_whether_an_older_result_is_shown(stored, tmp_path):
    (stored / "failures.json").write_text(json.dumps({
        "bench_orders": {"at": "2026-12-02 06:00 UTC", "error": "NotNullViolation('age_verified')\nDETAIL: x"},
        "bench_webhooks": {"at": "2026-12-02 06:01 UTC", "error": "ImportError('Server')"}}))
    text = write_report(load_runs(stored), tmp_path / "BENCHMARKS.md", failures=load_failures(stored)).read_text()
    assert "- bench_orders, 2026-12-02 06:00 UTC: `NotNullViolation('age_verified')`\n" in text
    assert "- bench_webhooks, 2026-12-02 06:01 UTC: `ImportError('Server')` — no stored result" in text


def test_goals_as_numbers_or_comparisons_or_the_modules_own_verdict():
    assert goal_met({"ratio": 2.0, "goal": 1.5}) is True
    assert goal_met({"ratio": 2.0, "goal": 1.5, "lower_is_better": True}) is False
    assert goal_met({"ratio": 0.4, "goal": "<= 0.5"}) is True
    assert goal_met({"ratio": 1.0, "goal": "faster"}) is None
    assert goal_met({"ratio": 1.0, "goal": "0 oversell, exactly 400 sold"}) is None  # not a ratio goal
    assert goal_met({"ratio": 1.0, "goal": "0 oversell", "met": False}) is False


def test_per_process_throughput_is_merged_into_what_capacity_advice_reads(tmp_path, db):
    from django.utils import timezone

    from analytics import capacity
    from bench.report import throughput_section

    orders = {**ORDERS, "module": "bench_orders", "results": [
        {**ORDERS["results"][0], "per_process": {capacity.BENCH_INGEST_KEY: 41.5}}]}
    sync = {**SYNC, "module": "bench_sync", "results": [
        {**SYNC["results"][0], "per_process": {capacity.BENCH_DELIVERY_KEY: 120.0}}, SYNC["results"][1]]}

    section = throughput_section([orders, sync])
    path = tmp_path / "latest.json"
    path.write_text(json.dumps({"machine": "box", "throughput": section}))
    throughput = capacity.throughput_measured(queues=["payment"], now=timezone.now(), bench_results=path)

    assert section["measured_at"] == "bench_orders 2026-12-02 05:00 UTC, bench_sync 2026-12-01 22:00 UTC"
    assert throughput.ingest.per_second == 41.5 and throughput.delivery["payment"].per_second == 120.0
    assert "bench results latest.json (bench_orders 2026-12-02" in throughput.ingest.source
    assert throughput_section([ORDERS]) == {}
