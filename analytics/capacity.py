"""Capacity advice: web processes and Celery workers per queue that keep p95 sync latency under a target.

Each stage (web ingest, each delivery queue) is treated as an M/M/c queue: Erlang C gives the chance that a
request waits and how long the 95th percentile waits, for c processes of measured throughput.
"""

import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings

from analytics.selectors import delivery_service_times

# Per-process throughput `make bench` measured (bench/run.py writes it from bench_orders and bench_sync); its shape is
# documented in docs/FORECAST.md.
BENCH_RESULTS = Path(settings.BASE_DIR) / "bench" / "results" / "latest.json"
BENCH_INGEST_KEY = "ingest_requests_per_second_per_web_process"
BENCH_DELIVERY_KEY = "deliveries_per_second_per_worker_process"
BENCH_BY_QUEUE_KEY = "deliveries_per_second_per_worker_process_by_queue"
# About half of what docs/BENCHMARKS.md measured on a loaded 2-core VM (34 req/s and 22 deliveries/s per process).
DEFAULT_INGEST_PER_PROCESS = 15.0
DEFAULT_DELIVERY_PER_PROCESS = 10.0
# The attempt log times only the downstream call; claiming and recording a delivery costs about 7 SQL round trips.
ENGINE_OVERHEAD_MS = 15.0
LOG_WINDOW = timedelta(hours=24)
MIN_LOG_ATTEMPTS = 50
# order.created, .paid, .fulfilling, .shipped, .delivered reach each subscribed endpoint once per order.
EVENTS_PER_ORDER = 5
# The ingest POST plus the paid, shipped and delivered transitions that payment and carrier systems call.
DEFAULT_REQUESTS_PER_ORDER = 4
# Orders are not spread evenly inside the peak hour: size for its busiest minutes at this multiple of the mean.
DEFAULT_BURST = 2.0
# "Well under a second" is the promise (shared design); its p95 edge is the default, half per stage.
DEFAULT_TARGET_P95_MS = 1000.0
QUANTILE = 0.95
MAX_PROCESSES = 1000


@dataclass(frozen=True)
class Rate:
    per_second: float  # what one process completes per second
    source: str


@dataclass(frozen=True)
class Throughput:
    ingest: Rate
    delivery: dict[str, Rate]
    notes: list[str] = field(default_factory=list)


def _bench_section(path: Path | None, notes: list[str]) -> dict | None:
    if path is None:
        return None
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        notes.append(f"no bench results at {path} (run `make bench`)")
        return None
    except (OSError, ValueError) as exc:
        notes.append(f"bench results {path} unreadable ({exc}); ignored")
        return None
    section = data.get("throughput") if isinstance(data, dict) else None
    if not isinstance(section, dict):
        notes.append(f'{path} has no "throughput" section (shape in docs/FORECAST.md); ignored')
        return None
    by_queue = section.get(BENCH_BY_QUEUE_KEY, {})
    numbers = [section.get(BENCH_INGEST_KEY), section.get(BENCH_DELIVERY_KEY),
               *(by_queue.values() if isinstance(by_queue, dict) else [None])]
    if not all(isinstance(n, int | float) and not isinstance(n, bool) and n > 0 for n in numbers):
        notes.append(f'{path}: "throughput" needs positive numbers for {BENCH_INGEST_KEY} and {BENCH_DELIVERY_KEY} '
                     f"(and {BENCH_BY_QUEUE_KEY} if given); ignored")
        return None
    section["label"] = f"bench results {path.name}" + (
        f" ({section['measured_at']})" if section.get("measured_at") else ""
    )
    return section


def throughput_measured(*, queues: list[str], now: datetime, bench_results: Path | None = BENCH_RESULTS) -> Throughput:
    """Per-process throughput. Ingest: the bench results file, else a stated default. Delivery, per queue: the
    recent delivery log (real endpoints' latencies), else the bench results file (a receiver that answers at once:
    an upper bound), else a stated default."""
    notes: list[str] = []
    bench = _bench_section(bench_results, notes)
    logged = {t.queue: t for t in delivery_service_times(since=now - LOG_WINDOW)}
    delivery = {}
    for queue in queues:
        seen = logged.get(queue)
        if seen is not None and seen.attempts >= MIN_LOG_ATTEMPTS:
            delivery[queue] = Rate(1000 / (seen.mean_ms + ENGINE_OVERHEAD_MS), (
                f"delivery log: {seen.attempts} attempts in the last {LOG_WINDOW.total_seconds() / 3600:.0f} h, "
                f"mean {seen.mean_ms:.0f} ms + {ENGINE_OVERHEAD_MS:.0f} ms engine overhead"
            ))
            continue
        if seen is not None:
            notes.append(f"delivery log: only {seen.attempts} attempts on {queue} (need {MIN_LOG_ATTEMPTS})")
        if bench is not None:
            per_second = bench.get(BENCH_BY_QUEUE_KEY, {}).get(queue, bench[BENCH_DELIVERY_KEY])
            delivery[queue] = Rate(per_second, bench["label"])
        else:
            delivery[queue] = Rate(DEFAULT_DELIVERY_PER_PROCESS, "conservative default")
    ingest = (Rate(bench[BENCH_INGEST_KEY], bench["label"]) if bench is not None
              else Rate(DEFAULT_INGEST_PER_PROCESS, "conservative default (no bench results)"))
    return Throughput(ingest=ingest, delivery=delivery, notes=notes)


def erlang_c(servers: int, load: float) -> float:
    """Probability that an arrival waits, for `servers` processes offered `load` Erlangs (load < servers)."""
    blocking = 1.0  # Erlang B by its stable recursion
    for k in range(1, servers + 1):
        blocking = load * blocking / (k + load * blocking)
    utilisation = load / servers
    return blocking / (1 - utilisation * (1 - blocking))


def p95_latency(*, servers: int, arrivals: float, service_rate: float) -> float:
    """Seconds: the 95th-percentile wait plus the 95th-percentile service time (their sum bounds the p95)."""
    service = -math.log(1 - QUANTILE) / service_rate
    if arrivals <= 0:
        return service
    if arrivals >= servers * service_rate:
        return math.inf
    waits = erlang_c(servers, arrivals / service_rate)
    wait = math.log(waits / (1 - QUANTILE)) / (servers * service_rate - arrivals) if waits > 1 - QUANTILE else 0.0
    return wait + service


@dataclass(frozen=True)
class StageAdvice:
    stage: str
    arrivals_per_second: float
    rate: Rate
    budget_ms: float
    processes: int | None  # None: no number of processes meets the budget
    p95_ms: float
    arithmetic: str

    @property
    def utilisation(self) -> float:
        return self.arrivals_per_second / ((self.processes or 1) * self.rate.per_second)


def stage_advise(*, stage: str, arrivals: float, rate: Rate, budget_ms: float, derivation: str) -> StageAdvice:
    service_p95_ms = 1000 * p95_latency(servers=1, arrivals=0, service_rate=rate.per_second)
    if service_p95_ms > budget_ms:
        return StageAdvice(stage, arrivals, rate, budget_ms, None, service_p95_ms, (
            f"{derivation}; one process does {rate.per_second:.1f}/s ({rate.source}), so one request alone takes "
            f"{service_p95_ms:.0f} ms at p95 > {budget_ms:.0f} ms budget: more processes cannot help, faster "
            "requests can"
        ))
    servers = max(1, math.ceil(arrivals / rate.per_second))
    while (p95 := 1000 * p95_latency(servers=servers, arrivals=arrivals, service_rate=rate.per_second)) > budget_ms:
        servers += 1
        if servers > MAX_PROCESSES:
            return StageAdvice(stage, arrivals, rate, budget_ms, None, p95, f"{derivation}; over {MAX_PROCESSES}")
    return StageAdvice(stage, arrivals, rate, budget_ms, servers, p95, (
        f"{derivation}; one process does {rate.per_second:.1f}/s ({rate.source}); load "
        f"{arrivals:.3f}/{rate.per_second:.1f} = {arrivals / rate.per_second:.3f} Erlang; with {servers} "
        f"process{'es' if servers > 1 else ''} utilisation {arrivals / (servers * rate.per_second):.0%}, "
        f"p95 ≈ {p95:.0f} ms ≤ {budget_ms:.0f} ms"
    ))


@dataclass(frozen=True)
class CapacityAdvice:
    peak_at: datetime
    peak_upper_per_hour: float
    peak_mean_per_hour: float
    burst: float
    target_p95_ms: float
    requests_per_order: float
    throughput: Throughput
    web: StageAdvice
    queues: list[StageAdvice]
    idle_queues: list[str]

    @property
    def peak_orders_per_second(self) -> float:
        return self.peak_upper_per_hour * self.burst / 3600

    def lines(self) -> list[str]:
        out = [
            f"peak hour {self.peak_at:%a %Y-%m-%d %H:00} UTC: {self.peak_mean_per_hour:.0f} orders expected, "
            f"{self.peak_upper_per_hour:.0f} at the upper {QUANTILE:.0%} bound",
            f"sized for {self.peak_upper_per_hour:.0f}/h × burst {self.burst:g} / 3600 = "
            f"{self.peak_orders_per_second:.3f} orders/s; target p95 {self.target_p95_ms:.0f} ms, split evenly "
            f"between ingest and delivery ({self.target_p95_ms / 2:.0f} ms each)",
        ]
        for advice in (self.web, *self.queues):
            count = f"{advice.processes}" if advice.processes is not None else "no count meets the budget"
            label = "web processes" if advice is self.web else f"worker processes on queue {advice.stage}"
            out.append(f"{label}: {count}  — {advice.arithmetic}")
        out.append("worker processes on queue default: 1  — sweeper, stock feed and expiry; not order-bound")
        if self.idle_queues:
            out.append(f"no active endpoint receives order events on: {', '.join(self.idle_queues)} (no workers)")
        out += [f"note: {note}" for note in self.throughput.notes]
        return out


def capacity_advise(*, peak_at: datetime, peak_upper_per_hour: float, peak_mean_per_hour: float,
                    endpoints_per_queue: dict[str, int], queues: list[str], throughput: Throughput,
                    target_p95_ms: float = DEFAULT_TARGET_P95_MS, burst: float = DEFAULT_BURST,
                    requests_per_order: float = DEFAULT_REQUESTS_PER_ORDER) -> CapacityAdvice:
    orders_per_second = peak_upper_per_hour * burst / 3600
    budget = target_p95_ms / 2
    web = stage_advise(
        stage="web", arrivals=orders_per_second * requests_per_order, rate=throughput.ingest, budget_ms=budget,
        derivation=f"{orders_per_second:.3f} orders/s × {requests_per_order:g} API requests per order = "
                   f"{orders_per_second * requests_per_order:.3f} requests/s",
    )
    advised, idle = [], []
    for queue in queues:
        endpoints = endpoints_per_queue.get(queue, 0)
        if not endpoints:
            idle.append(queue)
            continue
        arrivals = orders_per_second * EVENTS_PER_ORDER * endpoints
        advised.append(stage_advise(
            stage=queue, arrivals=arrivals, rate=throughput.delivery[queue], budget_ms=budget,
            derivation=f"{orders_per_second:.3f} orders/s × {EVENTS_PER_ORDER} events × {endpoints} "
                       f"endpoint{'s' if endpoints > 1 else ''} = {arrivals:.3f} deliveries/s",
        ))
    return CapacityAdvice(
        peak_at=peak_at, peak_upper_per_hour=peak_upper_per_hour, peak_mean_per_hour=peak_mean_per_hour,
        burst=burst, target_p95_ms=target_p95_ms, requests_per_order=requests_per_order, throughput=throughput,
        web=web, queues=advised, idle_queues=idle,
    )
