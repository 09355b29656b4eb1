from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    """Customer notifications react to sync events; built by a later issue (see docs/ARCHITECTURE.md)."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "notifications"
