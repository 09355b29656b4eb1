from django.apps import AppConfig


class ChannelsIntegrationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "channels_integration"
    verbose_name = "Sales channels"

    def ready(self):
        # auth connects the key cache's invalidation; schema registers the OpenAPI auth extension.
        from channels_integration import auth, schema  # noqa: F401

        # The connectors register the stock-push handler and the channel tasks in every web and worker process.
        from channels_integration.connectors import stock, tasks  # noqa: F401
