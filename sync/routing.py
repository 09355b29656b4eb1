"""Celery routing: a delivery goes to the queue of its endpoint's kind, so a slow carrier never delays a payment."""

DELIVERY_TASK = "sync.tasks.delivery_attempt"


def route_task(name, args, kwargs, options, task=None, **extra):
    if name == DELIVERY_TASK and kwargs and kwargs.get("kind"):
        return {"queue": kwargs["kind"]}
    return {"queue": "default"}
