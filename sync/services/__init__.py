"""Every write to the outbox goes through these functions."""

from sync.services.delivery import Batch, Declined, deliveries_claim, deliveries_record, delivery_attempt
from sync.services.drain import endpoint_drain
from sync.services.endpoints import (
    CreatedEndpoint,
    endpoint_create,
    endpoint_disable,
    endpoint_enable,
    endpoint_url_validate,
)
from sync.services.operations import (
    alerts_resolve,
    attempts_prune,
    deliveries_cancel,
    deliveries_replay,
    deliveries_sweep,
)
from sync.services.publish import EventSpec, event_publish, event_publish_many

__all__ = [
    "Batch", "CreatedEndpoint", "Declined", "alerts_resolve", "attempts_prune", "deliveries_cancel",
    "deliveries_claim", "deliveries_record", "deliveries_replay", "deliveries_sweep", "delivery_attempt",
    "endpoint_create", "endpoint_disable", "endpoint_drain", "endpoint_enable", "endpoint_url_validate", "EventSpec",
    "event_publish", "event_publish_many",
]
