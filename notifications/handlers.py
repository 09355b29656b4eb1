"""The sync engine's handler for customer email: an endpoint with `handler="notifications.email"` calls it once
per delivery (at least once per event), in a worker process or thread. It adapts the engine's arguments to the
services, which do the deduplication; retries, attempt logs and dead letters are the engine's."""

from notifications import services
from notifications.events import RESEND_TOPIC
from sync.handlers import HandlerResult, handler
from sync.retry import schedule_for


@handler("notifications.email")
def send_email(*, event, endpoint, delivery, attempt) -> HandlerResult:
    # The message may need several round trips, each bounded by the endpoint's read timeout.
    options = {"timeout": endpoint.read_timeout, "last_attempt": attempt >= len(schedule_for(endpoint))}
    if event.topic == RESEND_TOPIC:
        return services.email_resend_deliver(notification_id=event.payload["notification_id"],
                                             payload=event.payload["event"], **options)
    return services.email_for_event(event_id=event.pk, topic=event.topic, payload=event.payload, **options)
