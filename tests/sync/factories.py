import itertools

from django.db import transaction

from sync.services import endpoint_create, event_publish

_names = itertools.count(1)


def make_endpoint(*, url: str, kind: str = "payment", topics=("order.*",), **options):
    """An endpoint made through the service (which generates its secret); returns (endpoint, secret)."""
    created = endpoint_create(name=f"{kind}-{next(_names)}", kind=kind, url=url, topics=list(topics), **options)
    return created.endpoint, created.secret


def publish(topic: str = "order.paid", *, order_id: int = 1, payload: dict | None = None):
    with transaction.atomic():
        return event_publish(topic=topic, order_id=order_id, payload=payload or {"total": "10.00"})
