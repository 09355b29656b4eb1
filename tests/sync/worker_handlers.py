"""Handlers for tests that run them in a real worker (`celery_workers.start(include=[__name__])`)."""

import time

from sync.handlers import HandlerResult, handler
from sync.models import Event


@handler("tests.orm_reader")
def orm_reader(*, event, endpoint, delivery, attempt) -> HandlerResult:
    """Reads the outbox through the ORM on its send thread, as a notification handler would, then takes a while."""
    topic = Event.objects.filter(pk=event.pk).values_list("topic", flat=True).get()
    time.sleep(endpoint.handler_options.get("seconds", 0))
    return HandlerResult(ok=True, detail=f"read {topic}")
