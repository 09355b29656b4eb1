"""Celery settings that depend on which broker CELERY_BROKER_URL names (Redis, RabbitMQ or the file broker).

Declared once here: settings modules apply it to the URL they chose, and tests apply it to a broker they switch
to, so a producer and a worker always agree on how a queue is declared (RabbitMQ refuses a queue re-declared with
other arguments).
"""

from pathlib import Path
from urllib.parse import urlsplit

from kombu import Exchange, Queue

AMQP_SCHEMES = {"amqp", "amqps", "pyamqp"}
REDIS_SCHEMES = {"redis", "rediss"}
QUEUE_TYPES = {"quorum", "classic"}


def broker_kind(url: str) -> str:
    scheme = urlsplit(url).scheme
    if scheme in AMQP_SCHEMES:
        return "rabbitmq"
    if scheme in REDIS_SCHEMES:
        return "redis"
    return scheme


def rabbitmq_queues(names: list[str], queue_type: str) -> list[Queue]:
    """Durable queues, each behind a durable topic exchange of its name.

    Topic rather than direct: with quorum queues a countdown (a drain booked for later) travels through Celery's
    native delayed delivery, which routes only through topic exchanges; a direct one would make the worker hold
    the message unacknowledged until its time, which quorum queues (no global QoS) do not allow to scale.
    """
    arguments = {"x-queue-type": queue_type}
    return [
        Queue(name, Exchange(name, type="topic", durable=True), routing_key=name, durable=True,
              queue_arguments=arguments)
        for name in names
    ]


def celery_broker_settings(url: str, *, queues: list[str], run_dir: Path, visibility_timeout: int,
                           queue_type: str = "quorum") -> dict:
    """The CELERY_* settings for the broker at `url` (names as in Django settings, namespace CELERY)."""
    kind = broker_kind(url)
    if kind == "rabbitmq":
        return {
            # Publisher confirms: a publish returns only once RabbitMQ has taken the message (written it, for a
            # durable queue), so a commit hook that "sent" a drain really did.
            "CELERY_BROKER_TRANSPORT_OPTIONS": {"confirm_publish": True},
            "CELERY_TASK_QUEUES": rabbitmq_queues(queues, queue_type),
            "CELERY_TASK_DEFAULT_QUEUE_TYPE": queue_type,
            "CELERY_TASK_DEFAULT_EXCHANGE_TYPE": "topic",
            # Quorum queues have no global QoS: Celery then sets the prefetch per consumer.
            "CELERY_WORKER_DETECT_QUORUM_QUEUES": True,
        }
    if kind == "filesystem":
        # The no-server broker used by `make run` when Redis is absent: messages are files shared by web and
        # worker. kombu would otherwise write its exchange table to ./control in whatever directory it started in.
        broker_dir = run_dir / "broker"
        for sub in ("queue", "processed", "control"):
            (broker_dir / sub).mkdir(parents=True, exist_ok=True)
        return {
            "CELERY_BROKER_TRANSPORT_OPTIONS": {
                "data_folder_in": str(broker_dir / "queue"),
                "data_folder_out": str(broker_dir / "queue"),
                "processed_folder": str(broker_dir / "processed"),
                "control_folder": str(broker_dir / "control"),
                "store_processed": False,
            },
        }
    # Redis has no acknowledgements of its own: a message taken by a worker that never acks is handed out again
    # after the visibility timeout. It must exceed the longest countdown (SYNC_MAX_COUNTDOWN) and task.
    return {"CELERY_BROKER_TRANSPORT_OPTIONS": {"visibility_timeout": visibility_timeout}}


def app_config(settings: dict) -> dict:
    """The same settings as Celery app configuration keys (CELERY_TASK_QUEUES → task_queues)."""
    return {key.removeprefix("CELERY_").lower(): value for key, value in settings.items()}
