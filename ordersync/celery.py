import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ordersync.settings.dev")

app = Celery("ordersync")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
