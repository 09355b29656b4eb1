"""Bulk ingest: up to 500 orders in one transaction, each in its own savepoint so one bad order fails alone."""

from dataclasses import dataclass

from django.db import IntegrityError, transaction

from orders.actors import Actor
from orders.models import Order
from orders.services.ingest import IngestResult, create_order, order_body_hash, order_data_clean
from ordersync.api import ApiError

BULK_MAX_ORDERS = 500


@dataclass
class BulkItemResult:
    index: int
    result: IngestResult | None = None
    error: ApiError | None = None


def order_ingest_bulk(*, channel, items: list[dict], actor: Actor) -> list[BulkItemResult]:
    """Ingests each item as `order_ingest` would; replays and duplicates are resolved with one lookup."""
    if len(items) > BULK_MAX_ORDERS:
        raise ApiError(f"orders: at most {BULK_MAX_ORDERS} orders per request.", code="too_many_orders")
    results: list[BulkItemResult] = []
    prepared: list[tuple[BulkItemResult, dict, str]] = []
    for index, data in enumerate(items):
        item = BulkItemResult(index=index)
        results.append(item)
        try:
            data = order_data_clean(data)
        except ApiError as exc:
            item.error = exc
            continue
        prepared.append((item, data, order_body_hash(data)))

    existing = {
        o.external_id: o
        for o in Order.objects.select_related("channel").filter(
            channel=channel, external_id__in={data["external_id"] for _, data, _ in prepared}
        )
    }
    with transaction.atomic():
        for item, data, body_hash in prepared:
            order = existing.get(data["external_id"])
            if order is None:
                try:
                    with transaction.atomic():
                        order = create_order(channel=channel, data=data, body_hash=body_hash, actor=actor)
                except ApiError as exc:
                    item.error = exc
                    continue
                except IntegrityError:
                    order = Order.objects.select_related("channel").get(
                        channel=channel, external_id=data["external_id"]
                    )
                else:
                    existing[order.external_id] = order
                    item.result = IngestResult(order=order, created=True)
                    continue
            if order.body_hash != body_hash:
                item.error = ApiError(
                    f"Order {data['external_id']!r} was already received with a different body.",
                    code="duplicate_external_id", status_code=409, extra={"order_id": order.pk},
                )
            else:
                item.result = IngestResult(order=order, created=False)
    return results
