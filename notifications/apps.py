from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class NotificationsConfig(AppConfig):
    """Customer notifications: email per order event through the sync engine's handler endpoints."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "notifications"

    def ready(self):
        from notifications import handlers  # noqa: F401 - registers the sync handler in every process
        from notifications.selectors import channel_settings_forget

        for model in ("channels_integration.Channel", "notifications.ChannelNotificationSettings"):
            post_save.connect(channel_settings_forget, sender=model, dispatch_uid=f"notifications-forget-{model}")
            post_delete.connect(channel_settings_forget, sender=model, dispatch_uid=f"notifications-forget-{model}")
