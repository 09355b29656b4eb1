from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    """Customer notifications: email per order event through the sync engine's handler endpoints."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "notifications"

    def ready(self):
        from notifications import handlers  # noqa: F401 - registers the sync handler in every process
