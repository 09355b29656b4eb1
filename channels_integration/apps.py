from django.apps import AppConfig


class ChannelsIntegrationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "channels_integration"
    verbose_name = "Sales channels"
