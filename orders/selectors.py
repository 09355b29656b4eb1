from django.db.models import Q, QuerySet
from django.utils import timezone

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


def order_stock_secured(*, order: Order, now=None) -> bool:
    """Every line of a stock-tracked SKU holds a live (active, unexpired) reservation.

    Reads inventory's tables directly (orders may depend on inventory): the contract's
    `order_has_active_reservation` does not look at expiry, and untracked SKUs never get a reservation.
    """
    from inventory.models import Reservation, Sku

    now = now or timezone.now()
    lines = list(order.lines.all())
    tracked = set(Sku.objects.filter(code__in={line.sku for line in lines}, track_inventory=True)
                  .values_list("code", flat=True))
    needed = {line.pk for line in lines if line.sku in tracked}
    if not needed:
        return True
    live = set(
        Reservation.objects.filter(order_id=order.pk, state=Reservation.State.ACTIVE)
        .filter(Q(expires_at=None) | Q(expires_at__gt=now))
        .values_list("order_line_id", flat=True)
    )
    return needed <= live
