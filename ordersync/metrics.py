"""`GET /metrics` in the Prometheus text format (prometheus-client).

Everything about deliveries, inbound messages, the stock feed and orders is read from the database at scrape time
(`DatabaseCollector`): the outbox tables are the truth for every worker process on every host, so one scrape of
any web process gives the whole system's numbers, and nothing is lost when a worker dies. Only request latency is
measured in the web process itself; under gunicorn its processes share it through prometheus-client's multiprocess
mode (PROMETHEUS_MULTIPROC_DIR, set up by ordersync/gunicorn_conf.py).

Access: with METRICS_TOKEN set, a scrape must send `Authorization: Bearer <token>`; without it, only clients whose
address is in METRICS_ALLOWED_NETWORKS (loopback by default) are answered.
"""

import hmac
import ipaddress
import os
import time

from django.conf import settings
from django.db import DatabaseError
from django.db.models import Count, Min, Q, Sum
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector

# Seconds from the event's commit to the endpoint's 2xx. Retries put deliveries in the long buckets.
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600)
KNOWN_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

# Not in the default registry: each scrape builds its own (below), so a test or a second app cannot double it.
REQUEST_LATENCY = Histogram(
    "ordersync_http_request_duration_seconds", "Time to answer a request, by view.",
    ["view", "method", "status"], buckets=REQUEST_BUCKETS, registry=None,
)


def _age(now, moment) -> float:
    return max((now - moment).total_seconds(), 0.0) if moment else 0.0


class DatabaseCollector:
    """Backlog-type gauges and outbox-derived histograms, read when Prometheus scrapes."""

    def collect(self):
        now = timezone.now()
        yield from self._deliveries(now)
        yield self._delivery_latency()
        yield from self._inbound(now)
        yield from self._stock_feed(now)
        yield self._orders()

    def _deliveries(self, now):
        from sync import selectors
        from sync.models import Delivery
        from sync.services.endpoints import breaker_state

        by_state = GaugeMetricFamily("ordersync_deliveries", "Deliveries by endpoint and state (outcome).",
                                     labels=["endpoint", "kind", "state"])
        rows = (Delivery.objects.order_by().values_list("endpoint__name", "endpoint__kind", "state")
                .annotate(n=Count("pk")))
        for name, kind, state, n in rows:
            by_state.add_metric([name, kind, state], n)
        yield by_state

        backlog = GaugeMetricFamily("ordersync_endpoint_backlog", "Pending and in-flight deliveries.",
                                    labels=["endpoint", "kind"])
        oldest = GaugeMetricFamily("ordersync_endpoint_oldest_pending_age_seconds",
                                   "Age of the oldest pending delivery (0: none).", labels=["endpoint", "kind"])
        breaker = GaugeMetricFamily("ordersync_endpoint_breaker_state",
                                    "1 for the endpoint's current breaker state.",
                                    labels=["endpoint", "kind", "state"])
        for endpoint in selectors.endpoints_with_health():
            labels = [endpoint.name, endpoint.kind]
            backlog.add_metric(labels, endpoint.backlog)
            oldest.add_metric(labels, _age(now, endpoint.oldest_pending_at))
            current = breaker_state(endpoint, now=now) if endpoint.active else "disabled"
            for state in ("closed", "open", "half-open", "disabled"):
                breaker.add_metric([*labels, state], 1 if current == state else 0)
        yield from (backlog, oldest, breaker)

    def _delivery_latency(self):
        from sync.models import Delivery

        family = HistogramMetricFamily("ordersync_delivery_latency_seconds",
                                       "Event commit to the endpoint's 2xx, succeeded deliveries.", labels=["kind"])
        buckets = {f"le_{i}": Count("pk", filter=Q(end_to_end_latency_ms__lte=b * 1000))
                   for i, b in enumerate(LATENCY_BUCKETS)}
        rows = (Delivery.objects.filter(state=Delivery.State.SUCCEEDED, end_to_end_latency_ms__isnull=False)
                .order_by().values("endpoint__kind").annotate(total=Count("pk"), ms=Sum("end_to_end_latency_ms"),
                                                              **buckets))
        for row in rows:
            cumulative = [(str(float(b)), row[f"le_{i}"]) for i, b in enumerate(LATENCY_BUCKETS)]
            family.add_metric([row["endpoint__kind"]], [*cumulative, ("+Inf", row["total"])],
                              sum_value=(row["ms"] or 0) / 1000)
        return family

    def _inbound(self, now):
        from channels_integration.models import InboundMessage

        by_state = GaugeMetricFamily("ordersync_inbound_messages", "Inbound channel messages by state.",
                                     labels=["channel", "state"])
        for channel, state, n in (InboundMessage.objects.order_by().values_list("channel__code", "state")
                                  .annotate(n=Count("pk"))):
            by_state.add_metric([channel, state], n)
        yield by_state

        lag = GaugeMetricFamily("ordersync_inbound_oldest_unprocessed_age_seconds",
                                "Age of the oldest message still received or deferred (0: none).", labels=["channel"])
        waiting = (InboundMessage.objects.filter(state__in=[InboundMessage.State.RECEIVED,
                                                            InboundMessage.State.DEFERRED])
                   .order_by().values_list("channel__code").annotate(oldest=Min("received_at")))
        for channel, oldest in waiting:
            lag.add_metric([channel], _age(now, oldest))
        yield lag

    def _stock_feed(self, now):
        from django.db.models import F

        from inventory.models import StockLevel

        dirty = StockLevel.objects.filter(version__gt=F("published_version")).aggregate(
            n=Count("pk"), oldest=Min("updated_at"))
        yield GaugeMetricFamily("ordersync_stock_feed_unpublished_levels",
                                "Stock levels changed since the feed last published them.", value=dirty["n"])
        yield GaugeMetricFamily("ordersync_stock_feed_lag_seconds",
                                "Age of the oldest unpublished stock change (0: feed caught up).",
                                value=_age(now, dirty["oldest"]))

    def _orders(self):
        from orders.models import Order

        family = GaugeMetricFamily("ordersync_orders", "Orders ingested, by channel and current status.",
                                   labels=["channel", "status"])
        for channel, status, n in (Order.objects.order_by().values_list("channel__code", "status")
                                   .annotate(n=Count("pk"))):
            family.add_metric([channel, status], n)
        return family


def _allowed(request) -> bool:
    token = settings.METRICS_TOKEN
    if token:
        sent = request.headers.get("Authorization", "")
        return hmac.compare_digest(sent.encode(), f"Bearer {token}".encode())
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net) for net in settings.METRICS_ALLOWED_NETWORKS)


def metrics_view(request):
    if not _allowed(request):
        return JsonResponse({"code": "metrics_forbidden",
                             "detail": "Send the METRICS_TOKEN as a bearer token, or scrape from an address in "
                                       "METRICS_ALLOWED_NETWORKS."}, status=403)
    registry = CollectorRegistry()
    registry.register(DatabaseCollector())
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(REQUEST_LATENCY)
    try:
        body = generate_latest(registry)
    except DatabaseError:
        return JsonResponse({"code": "database_unavailable", "detail": "The database did not answer."}, status=503)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)


class RequestMetricsMiddleware:
    """Times every request under its URL pattern's name (the route, never the raw path: ids would explode the
    label set)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        view = (match.view_name or match.route) if match else "unmatched"
        method = request.method if request.method in KNOWN_METHODS else "other"
        REQUEST_LATENCY.labels(view, method, str(response.status_code)).observe(
            time.perf_counter() - started)
        return response
