"""Read models for operators: endpoint health and backlog, one query for any number of endpoints."""

from datetime import timedelta

from django.db.models import Aggregate, Count, FloatField, IntegerField, Min, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from sync.models import Attempt, Delivery, Endpoint

BACKLOG_STATES = (Delivery.State.PENDING, Delivery.State.IN_FLIGHT)
HEALTH_WINDOW = timedelta(hours=24)


class Percentile95(Aggregate):
    function = "PERCENTILE_CONT"
    template = "%(function)s(0.95) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def as_sqlite(self, compiler, connection, **extra):
        # SQLite (make run) has no ordered-set aggregates; the maximum is an honest upper bound there.
        return super().as_sql(compiler, connection, function="MAX", template="%(function)s(%(expressions)s)")


def _per_endpoint(queryset, aggregate, field=None):
    grouped = queryset.order_by().values("endpoint_ref").annotate(value=aggregate).values("value")
    return Subquery(grouped, output_field=field or IntegerField())


def endpoints_with_health(*, window: timedelta = HEALTH_WINDOW):
    """Endpoints annotated with backlog, oldest pending, dead count, attempts and p95 latency over `window`.

    Every figure is a correlated subquery, so joins never multiply rows and the list is one query.
    """
    since = timezone.now() - window
    deliveries = Delivery.objects.filter(endpoint=OuterRef("pk")).annotate(endpoint_ref=OuterRef("pk"))
    attempts = Attempt.objects.filter(delivery__endpoint=OuterRef("pk"), started_at__gte=since).annotate(
        endpoint_ref=OuterRef("pk")
    )
    return Endpoint.objects.annotate(
        backlog=Coalesce(_per_endpoint(deliveries.filter(state__in=BACKLOG_STATES), Count("pk")), 0),
        oldest_pending_at=_per_endpoint(deliveries.filter(state=Delivery.State.PENDING), Min("created_at"),
                                        field=Delivery._meta.get_field("created_at")),
        dead=Coalesce(_per_endpoint(deliveries.filter(state=Delivery.State.DEAD), Count("pk")), 0),
        attempts_window=Coalesce(_per_endpoint(attempts, Count("pk")), 0),
        ok_window=Coalesce(
            _per_endpoint(attempts.filter(Q(status_code__gte=200) & Q(status_code__lt=300)), Count("pk")), 0
        ),
        p95_ms=_per_endpoint(attempts, Percentile95("duration_ms"), field=FloatField()),
    )


def success_rate(endpoint) -> float | None:
    """Share of successful attempts in the health window (needs endpoints_with_health annotations)."""
    if not endpoint.attempts_window:
        return None
    return endpoint.ok_window / endpoint.attempts_window
