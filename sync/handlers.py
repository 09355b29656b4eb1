"""In-process subscribers of the outbox: endpoints whose deliveries run a registered Python handler in the
worker instead of a signed HTTP POST.

They ride the same deliveries as webhooks — lease, per-stream order, retry schedule, Retry-After, breaker, rate
limit, attempt log, dead letters and replay — so customer notifications and channel stock pushes get every
guarantee outbound webhooks have, without HTTP calls to ourselves.

An endpoint with `handler="notifications.email"` is served by the function registered under that name:

    from sync.handlers import HandlerResult, handler

    @handler("notifications.email")
    def send_email(*, event, endpoint, delivery, attempt) -> HandlerResult:
        ...
        return HandlerResult(ok=True, detail="sent to a@example.com")

Handlers are registered when their module is imported; the owning app imports it in `AppConfig.ready()`, so
every web and worker process knows them. A handler runs outside any transaction, may run in a worker thread
(it gets its own database connection), is called at least once per delivery and must therefore be idempotent
per `event.pk` (plus whatever it addresses), exactly as a webhook receiver dedupes on `webhook-id`.
Raising is a failed attempt, recorded with the exception and retried on the endpoint's schedule.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class HandlerResult:
    ok: bool
    # Stored on the attempt: what was done on success, why it failed otherwise.
    detail: str = ""
    # When the handler called an HTTP API (a channel's), the status it answered.
    status_code: int | None = None
    # Seconds the far side asked us to wait (e.g. its Retry-After); a lower bound for the next attempt.
    retry_after: float | None = None
    # Retrying cannot help (a template that does not render): the delivery goes dead at once.
    permanent: bool = False


Handler = Callable[..., HandlerResult]
_registry: dict[str, Handler] = {}


def handler(name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        existing = _registry.get(name)
        if existing is not None and (existing.__module__, existing.__qualname__) != (fn.__module__, fn.__qualname__):
            raise ImproperlyConfigured(f"sync handler {name!r} is registered twice ({existing} and {fn})")
        _registry[name] = fn
        return fn

    return register


def get_handler(name: str) -> Handler | None:
    return _registry.get(name)


def handler_names() -> list[str]:
    return sorted(_registry)
