from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ConsoleConfig(AppConfig):
    name = "console"
    verbose_name = "Operator console"

    def ready(self):
        from console.roles import roles_sync_after_migrate

        # Permissions exist only after every app's post_migrate ran; this app is installed last, so its handler
        # sees them all and keeps the role groups in step with the models after every migrate.
        post_migrate.connect(roles_sync_after_migrate, sender=self)
