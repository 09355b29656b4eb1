"""Every write to orders goes through these functions."""

from orders.services.bulk import BULK_MAX_ORDERS, BulkItemResult, order_ingest_bulk
from orders.services.expiry import order_expire_due, order_release_expired_stock
from orders.services.ingest import IngestResult, order_ingest
from orders.services.transitions import actor_may, order_transition, transition_authorise, transitions_offered

__all__ = [
    "BULK_MAX_ORDERS",
    "BulkItemResult",
    "IngestResult",
    "actor_may",
    "order_expire_due",
    "order_ingest",
    "order_ingest_bulk",
    "order_release_expired_stock",
    "order_transition",
    "transition_authorise",
    "transitions_offered",
]
