import json
import math
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from analytics import capacity
from sync.models import Delivery
from sync.services import delivery_attempt, event_publish
from tests.sync.factories import make_endpoint

QUEUES = ["payment", "stock"]


def test_erlang_c_matches_the_textbook_values():
    assert capacity.erlang_c(1, 0.5) == pytest.approx(0.5)  # one server: waits with probability = utilisation
    assert capacity.erlang_c(2, 1.0) == pytest.approx(1 / 3)
    assert capacity.erlang_c(10, 8.0) == pytest.approx(0.4092, abs=1e-4)


def test_p95_latency_is_infinite_at_or_over_capacity_and_falls_with_more_processes():
    assert capacity.p95_latency(servers=2, arrivals=20, service_rate=10) == math.inf
    latencies = [capacity.p95_latency(servers=c, arrivals=15, service_rate=10) for c in (2, 3, 4)]
    assert latencies == sorted(latencies, reverse=True)
    # With no queue left, only the service time's 95th percentile remains: ln(20) / rate.
    assert capacity.p95_latency(servers=50, arrivals=15, service_rate=10) == pytest.approx(math.log(20) / 10)


def test_a_stage_gets_the_fewest_processes_that_meet_the_budget_and_shows_the_arithmetic():
    rate = capacity.Rate(10.0, "test rate")
    advice = capacity.stage_advise(stage="payment", arrivals=25.0, rate=rate, budget_ms=400, derivation="25/s")
    assert advice.processes is not None
    assert 1000 * capacity.p95_latency(servers=advice.processes, arrivals=25, service_rate=10) <= 400
    assert 1000 * capacity.p95_latency(servers=advice.processes - 1, arrivals=25, service_rate=10) > 400
    assert "25/s; one process does 10.0/s (test rate)" in advice.arithmetic and "≤ 400 ms" in advice.arithmetic


def test_a_budget_below_one_requests_own_time_is_reported_not_papered_over_with_processes():
    slow = capacity.Rate(2.0, "slow endpoint")  # p95 of one request: ln(20)/2 = 1.5 s
    advice = capacity.stage_advise(stage="logistics", arrivals=0.1, rate=slow, budget_ms=250, derivation="x")
    assert advice.processes is None and "more processes cannot help" in advice.arithmetic


def test_bench_results_file_is_the_first_source(tmp_path, db):
    path = tmp_path / "latest.json"
    path.write_text(json.dumps({"machine": "vm", "results": [], "throughput": {
        "measured_at": "2026-11-25T10:00:00Z", capacity.BENCH_INGEST_KEY: 34.0, capacity.BENCH_DELIVERY_KEY: 21.9,
        capacity.BENCH_BY_QUEUE_KEY: {"payment": 30.0}}}))
    throughput = capacity.throughput_measured(queues=QUEUES, now=timezone.now(), bench_results=path)
    assert throughput.ingest == capacity.Rate(34.0, "bench results latest.json (2026-11-25T10:00:00Z)")
    assert throughput.delivery["payment"].per_second == 30.0 and throughput.delivery["stock"].per_second == 21.9


@pytest.mark.parametrize("content, why", [
    ("{not json", "unreadable"),
    (json.dumps({"results": []}), 'no "throughput" section'),
    (json.dumps({"throughput": {capacity.BENCH_INGEST_KEY: -1, capacity.BENCH_DELIVERY_KEY: 5}}), "positive numbers"),
])
def test_a_bad_bench_file_is_ignored_with_a_note_and_defaults_are_named(tmp_path, db, content, why):
    path = tmp_path / "latest.json"
    path.write_text(content)
    throughput = capacity.throughput_measured(queues=QUEUES, now=timezone.now(), bench_results=path)
    assert any(why in note for note in throughput.notes)
    assert throughput.ingest.per_second == capacity.DEFAULT_INGEST_PER_PROCESS
    assert "default" in throughput.ingest.source and "default" in throughput.delivery["payment"].source


@pytest.fixture
def payment_log(db, http_server):
    """MIN_LOG_ATTEMPTS real deliveries to a payment endpoint in the attempt log."""
    endpoint, _ = make_endpoint(url=http_server.url("/pay"), kind="payment")
    for n in range(capacity.MIN_LOG_ATTEMPTS):
        with transaction.atomic():
            event_publish(topic="order.paid", order_id=n + 1, payload={"n": n})
    for delivery_id in Delivery.objects.filter(endpoint=endpoint).values_list("pk", flat=True):
        assert delivery_attempt(delivery_id=delivery_id) == "succeeded"


def test_without_bench_results_the_recent_delivery_log_gives_per_worker_throughput(payment_log):
    throughput = capacity.throughput_measured(queues=QUEUES, now=timezone.now() + timedelta(seconds=1),
                                              bench_results=None)
    payment = throughput.delivery["payment"]
    assert payment.source.startswith(f"delivery log: {capacity.MIN_LOG_ATTEMPTS} attempts in the last 24 h")
    # A real local POST takes a few milliseconds; the engine overhead is added on top, so the rate is bounded.
    assert 0 < payment.per_second <= 1000 / capacity.ENGINE_OVERHEAD_MS
    assert throughput.delivery["stock"].source == "conservative default"


def test_the_delivery_log_of_real_endpoints_wins_over_the_bench_receiver_queue_by_queue(payment_log, tmp_path):
    path = tmp_path / "latest.json"
    path.write_text(json.dumps({"throughput": {capacity.BENCH_INGEST_KEY: 98.0, capacity.BENCH_DELIVERY_KEY: 486.0}}))
    throughput = capacity.throughput_measured(queues=QUEUES, now=timezone.now() + timedelta(seconds=1),
                                              bench_results=path)
    assert throughput.delivery["payment"].source.startswith("delivery log:")
    assert throughput.delivery["stock"] == capacity.Rate(486.0, "bench results latest.json")
    assert throughput.ingest == capacity.Rate(98.0, "bench results latest.json")


def test_advice_sizes_every_queue_with_endpoints_from_the_upper_peak_and_names_idle_queues():
    throughput = capacity.Throughput(ingest=capacity.Rate(20.0, "bench"),
                                     delivery={q: capacity.Rate(10.0, "bench") for q in QUEUES})
    advice = capacity.capacity_advise(
        peak_at=timezone.now(), peak_upper_per_hour=36000, peak_mean_per_hour=30000,
        endpoints_per_queue={"payment": 2}, queues=QUEUES, throughput=throughput, target_p95_ms=1000, burst=2,
        requests_per_order=4,
    )
    assert advice.peak_orders_per_second == pytest.approx(20.0)  # 36000/h × 2 / 3600
    assert advice.web.arrivals_per_second == pytest.approx(80.0) and advice.web.processes >= 5
    (payment,) = advice.queues
    assert payment.arrivals_per_second == pytest.approx(20.0 * capacity.EVENTS_PER_ORDER * 2)
    assert payment.processes >= 20 and payment.p95_ms <= 500
    assert advice.idle_queues == ["stock"]
    text = "\n".join(advice.lines())
    assert "36000/h × burst 2 / 3600 = 20.000 orders/s" in text
    assert f"worker processes on queue payment: {payment.processes}" in text
