from celery import shared_task

from orders.services import order_expire_due


@shared_task(name="orders.expire_unpaid_orders")
def expire_unpaid_orders() -> int:
    """Beat task: cancels unpaid orders whose reservations expired; safe to run twice or concurrently."""
    return len(order_expire_due())
