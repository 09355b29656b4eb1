from ordersync.brokers import celery_broker_settings
from ordersync.config import broker_from_env, database_settings
from ordersync.settings.base import *  # noqa: F403
from ordersync.settings.base import CELERY_QUEUE_TYPE, CELERY_VISIBILITY_TIMEOUT, ORDERSYNC_QUEUES, RUN_DIR

DATABASES = {"default": database_settings("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/ordersync")}
CELERY_BROKER_URL = broker_from_env("CELERY_BROKER_URL", default="redis://127.0.0.1:6379/1")
globals().update(celery_broker_settings(
    CELERY_BROKER_URL, queues=ORDERSYNC_QUEUES, run_dir=RUN_DIR, visibility_timeout=CELERY_VISIBILITY_TIMEOUT,
    queue_type=CELERY_QUEUE_TYPE,
))
SYNC_ALLOW_PRIVATE_ENDPOINTS = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
