from django.db.models import QuerySet

from orders.models import Order, OrderStatusChange


def orders_for_channel(*, channel, status=None, updated_since=None, external_id=None) -> QuerySet[Order]:
    qs = Order.objects.filter(channel=channel).select_related("channel").prefetch_related("lines")
    if status:
        qs = qs.filter(status=status)
    if updated_since:
        qs = qs.filter(updated_at__gte=updated_since)
    if external_id:
        qs = qs.filter(external_id=external_id)
    return qs


def order_for_channel(*, channel, order_id: int) -> Order | None:
    return orders_for_channel(channel=channel).filter(pk=order_id).first()


def order_history(*, order_id: int) -> QuerySet[OrderStatusChange]:
    return OrderStatusChange.objects.filter(order_id=order_id).order_by("id")
