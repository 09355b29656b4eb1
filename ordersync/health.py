"""Liveness and readiness probes for load balancers and `make run`."""

from django.db import connection
from django.http import JsonResponse
from kombu import Connection

from ordersync.celery import app as celery_app

BROKER_TIMEOUT_SECONDS = 2


def healthz(request):
    return JsonResponse({"status": "ok"})


def _check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any driver error means "not ready"; the message names it
        return f"{type(exc).__name__}: {exc}"
    return None


def _check_broker() -> str | None:
    try:
        with Connection(celery_app.conf.broker_url, connect_timeout=BROKER_TIMEOUT_SECONDS) as conn:
            conn.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_SECONDS)
    except Exception as exc:  # kombu raises transport-specific errors
        return f"{type(exc).__name__}: {exc}"
    return None


def readyz(request):
    failures = {
        part: error
        for part, error in (("database", _check_database()), ("broker", _check_broker()))
        if error is not None
    }
    if failures:
        return JsonResponse(
            {
                "status": "unavailable",
                "code": "not_ready",
                "failing": sorted(failures),
                "detail": "; ".join(f"{part}: {error}" for part, error in failures.items()),
            },
            status=503,
        )
    return JsonResponse({"status": "ready", "checks": {"database": "ok", "broker": "ok"}})
