"""Celery task names and routing: an endpoint's drain goes to the queue of its kind, so a slow carrier never delays
a payment. Services send tasks by these names and never import the tasks module."""

DRAIN_TASK = "sync.tasks.endpoint_drain"
SWEEP_TASK = "sync.tasks.deliveries_sweep"


def route_task(name, args, kwargs, options, task=None, **extra):
    if name == DRAIN_TASK and kwargs and kwargs.get("kind"):
        return {"queue": kwargs["kind"]}
    return {"queue": "default"}
