"""Endpoint lifecycle: creation with a fresh secret, URL safety, enable/disable and the circuit breaker."""

import base64
import functools
import secrets
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from sync.dispatch import drain_nudge, drain_nudge_on_commit
from sync.egress import refused_addresses
from sync.handlers import get_handler, handler_names
from sync.models import Delivery, Endpoint, OperatorAlert
from sync.retry import breaker_pause


@dataclass(frozen=True)
class CreatedEndpoint:
    endpoint: Endpoint
    secret: str  # shown once; whoever receives the webhooks needs it to verify signatures


def endpoint_url_validate(url: str) -> None:
    """Refuses URLs that are not http(s) or whose host resolves to any address that is not globally routable.

    The check protects internal services from being probed through webhook URLs (SSRF); every delivery checks the
    address it connects to again (sync.egress), so DNS changed after this check is caught too. Dev and tests set
    SYNC_ALLOW_PRIVATE_ENDPOINTS to deliver to 127.0.0.1.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError({"url": f"{url!r} is not an http(s) URL with a host"})
    if settings.SYNC_ALLOW_PRIVATE_ENDPOINTS:
        return
    try:
        bad = refused_addresses(parts.hostname, parts.port or 443)
    except socket.gaierror as exc:
        raise ValidationError({"url": f"host {parts.hostname!r} does not resolve ({exc})"}) from exc
    if bad:
        raise ValidationError({"url": f"host {parts.hostname!r} resolves to a private or link-local address "
                                      f"({', '.join(bad)}): only globally routable addresses may receive "
                                      "deliveries; set SYNC_ALLOW_PRIVATE_ENDPOINTS to allow it"})


def _new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def endpoint_create(
    *, name: str, kind: str, url: str = "", topics: list[str], connect_timeout: float = 3.0, read_timeout: float = 10.0,
    rate_limit: float | None = None, retry_schedule: list[float] | None = None, secret: str | None = None,
    handler: str = "", handler_options: dict | None = None, max_concurrency: int | None = None,
) -> CreatedEndpoint:
    """A webhook endpoint (`url`) or an in-process subscriber (`handler`, see sync.handlers); exactly one."""
    if handler:
        if url:
            raise ValidationError({"url": "an endpoint has either a URL or a handler, not both"})
        if get_handler(handler) is None:
            known = ", ".join(handler_names()) or "none"
            raise ValidationError({"handler": f"no handler {handler!r} is registered; known: {known}"})
    else:
        endpoint_url_validate(url)
    if kind not in Endpoint.Kind.values:
        raise ValidationError({"kind": f"{kind!r} is not one of {', '.join(Endpoint.Kind.values)}"})
    topics = [t.strip() for t in topics if t.strip()]
    if not topics:
        raise ValidationError({"topics": "at least one topic is needed, e.g. order.* or *"})
    if connect_timeout <= 0 or read_timeout <= 0:
        raise ValidationError({"read_timeout": "timeouts must be positive"})
    if rate_limit is not None and rate_limit <= 0:
        raise ValidationError({"rate_limit": "must be positive, or empty for unlimited"})
    if max_concurrency is not None and not 1 <= max_concurrency <= 1000:
        raise ValidationError({"max_concurrency": "deliveries in flight at once: between 1 and 1000"})
    if retry_schedule is not None and (not retry_schedule or any(float(s) < 0 for s in retry_schedule)):
        raise ValidationError({"retry_schedule": "a non-empty list of non-negative seconds"})
    secret = secret or _new_secret()
    endpoint = Endpoint(
        name=name, kind=kind, url=url, secret=secret, topics=topics, connect_timeout=connect_timeout,
        read_timeout=read_timeout, rate_limit=rate_limit, retry_schedule=list(retry_schedule or []),
        handler=handler, handler_options=dict(handler_options or {}),
    )
    if max_concurrency is not None:
        endpoint.max_concurrency = max_concurrency
    endpoint.full_clean()
    with transaction.atomic():
        endpoint.save()
    return CreatedEndpoint(endpoint=endpoint, secret=secret)


def endpoint_set_url(*, endpoint_id: int, url: str) -> Endpoint:
    endpoint_url_validate(url)
    with transaction.atomic():
        endpoint = Endpoint.objects.select_for_update().get(pk=endpoint_id)
        if endpoint.url != url:
            endpoint.url = url
            endpoint.save(update_fields=["url"])
    return endpoint


def endpoint_disable(*, endpoint_id: int, reason: str) -> None:
    with transaction.atomic():
        endpoint = Endpoint.objects.select_for_update().get(pk=endpoint_id)
        if not endpoint.active:
            return
        endpoint.active = False
        endpoint.disabled_reason = reason
        endpoint.disabled_at = timezone.now()
        endpoint.save(update_fields=["active", "disabled_reason", "disabled_at"])
        OperatorAlert.objects.create(kind=OperatorAlert.Kind.ENDPOINT_DISABLED, endpoint=endpoint, message=reason)


def endpoint_enable(*, endpoint_id: int) -> None:
    """Re-activates the endpoint, closes its breaker and makes its waiting deliveries due now."""
    with transaction.atomic():
        endpoint = Endpoint.objects.select_for_update().get(pk=endpoint_id)
        endpoint.active = True
        endpoint.disabled_reason = ""
        endpoint.disabled_at = None
        endpoint.save(update_fields=["active", "disabled_reason", "disabled_at"])
        _breaker_close(endpoint, now=timezone.now())
        OperatorAlert.objects.filter(endpoint=endpoint, delivery=None, resolved_at=None).update(
            resolved_at=timezone.now()
        )
        drain_nudge_on_commit(endpoint.pk, endpoint.kind)


def breaker_state(endpoint: Endpoint, *, now: datetime | None = None) -> str:
    now = now or timezone.now()
    if endpoint.paused_until and endpoint.paused_until > now:
        return "open"
    if endpoint.consecutive_failures >= settings.SYNC_BREAKER_THRESHOLD:
        return "half-open"
    return "closed"


def _breaker_close(endpoint: Endpoint, *, now: datetime) -> None:
    """Called with the endpoint row locked. The backlog waited for the endpoint, not for its own retry time."""
    was_tripped = endpoint.consecutive_failures >= settings.SYNC_BREAKER_THRESHOLD or endpoint.paused_until
    endpoint.consecutive_failures = 0
    endpoint.paused_until = None
    endpoint.pause_reason = ""
    endpoint.save(update_fields=["consecutive_failures", "paused_until", "pause_reason"])
    if was_tripped:
        # After commit, so the bulk update never holds the endpoint lock while waiting on delivery rows.
        transaction.on_commit(functools.partial(_backlog_due_now, endpoint.pk), robust=True)


def _backlog_due_now(endpoint_id: int) -> None:
    Delivery.objects.filter(
        endpoint_id=endpoint_id, state=Delivery.State.PENDING, next_attempt_at__gt=timezone.now()
    ).update(next_attempt_at=timezone.now())
    kind = Endpoint.objects.filter(pk=endpoint_id).values_list("kind", flat=True).first()
    if kind:
        drain_nudge(endpoint_id=endpoint_id, kind=kind)


def breaker_record(*, endpoint_id: int, results: Sequence[bool], now: datetime, error: str = "") -> None:
    """Counts consecutive failures over a batch's answers in the order they finished: a success closes the breaker
    and only failures after the last success count. At the threshold the endpoint pauses (one alert), and each
    failed probe doubles the pause."""
    endpoint = Endpoint.objects.select_for_update().get(pk=endpoint_id)
    failures = len(results)
    if any(results):
        failures = len(results) - 1 - max(i for i, ok in enumerate(results) if ok)
        if endpoint.consecutive_failures or endpoint.paused_until:
            _breaker_close(endpoint, now=now)
    if not failures:
        return
    threshold = settings.SYNC_BREAKER_THRESHOLD
    before = endpoint.consecutive_failures
    endpoint.consecutive_failures += failures
    fields = ["consecutive_failures"]
    if endpoint.consecutive_failures >= threshold:
        pause = breaker_pause(endpoint.consecutive_failures)
        if before < threshold:
            OperatorAlert.objects.create(
                kind=OperatorAlert.Kind.ENDPOINT_PAUSED, endpoint=endpoint,
                message=f"{endpoint.consecutive_failures} consecutive failures, paused {pause}; last: {error}",
            )
        endpoint.paused_until = now + pause
        endpoint.pause_reason = f"{endpoint.consecutive_failures} consecutive failures; last: {error}"[:1000]
        fields += ["paused_until", "pause_reason"]
    endpoint.save(update_fields=fields)
