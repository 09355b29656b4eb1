"""Every write to the outbox goes through these functions."""

from sync.services.delivery import delivery_attempt, delivery_claim, delivery_post, delivery_record
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
    "CreatedEndpoint", "alerts_resolve", "attempts_prune", "deliveries_cancel", "deliveries_replay",
    "deliveries_sweep", "delivery_attempt", "delivery_claim", "delivery_post", "delivery_record", "endpoint_create",
    "EventSpec", "endpoint_disable", "endpoint_enable", "endpoint_url_validate", "event_publish", "event_publish_many",
]
