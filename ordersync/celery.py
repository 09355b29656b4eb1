import os

from celery import Celery, signals

from ordersync import kombu_guard

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ordersync.settings.dev")

kombu_guard.install()
app = Celery("ordersync")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.task_prerun.connect
@signals.task_postrun.connect
def recycle_database_connections(task=None, **kwargs) -> None:
    """A task boundary is a worker's request boundary: drop connections that are too old or broken, as Django
    does around each web request, so the next task reuses a healthy one (CELERY_DB_REUSE_MAX keeps Celery's
    fixup from closing them all)."""
    if task is not None and task.request.is_eager:
        return
    from django.db import close_old_connections

    close_old_connections()


@signals.task_prerun.connect
def bind_task_log_context(task_id=None, task=None, args=(), kwargs=None, **_ignored) -> None:
    from ordersync.logs import task_context_bind

    task_context_bind(task=task, task_id=task_id, args=args or (), kwargs=kwargs or {})


@signals.task_postrun.connect
def clear_task_log_context(**_ignored) -> None:
    from structlog.contextvars import clear_contextvars

    clear_contextvars()
