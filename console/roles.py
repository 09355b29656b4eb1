"""The console's roles, declared once: viewer reads everything, operator also repairs orders and deliveries,
admin may do anything (users, API keys, lockouts). `manage.py console_roles` and every migrate apply them."""

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Q

from orders.fsm import TRANSITION_PERMISSION_CODES

# The apps an operator's console shows; viewers see all of them and nothing of auth or axes.
CONSOLE_APPS = ("orders", "sync", "inventory", "channels_integration", "notifications", "analytics")

# What "act on orders and deliveries" means, as permissions: every transition a person may run, replaying and
# cancelling deliveries, enabling endpoints, resolving alerts, re-processing inbound messages, resending emails.
OPERATOR_PERMISSIONS = (
    *(f"orders.{codename}" for codename, _label in TRANSITION_PERMISSION_CODES),
    "sync.change_delivery",
    "sync.change_endpoint",
    "sync.change_operatoralert",
    "channels_integration.reprocess_inboundmessage",
    "notifications.resend_notification",
)

VIEWER, OPERATOR, ADMIN = "viewer", "operator", "admin"
ROLES = (VIEWER, OPERATOR, ADMIN)


def _by_names(names) -> Q:
    query = Q(pk__in=[])
    for name in names:
        app_label, codename = name.split(".", 1)
        query |= Q(content_type__app_label=app_label, codename=codename)
    return query


def role_permissions(role: str):
    viewing = Permission.objects.filter(content_type__app_label__in=CONSOLE_APPS, codename__startswith="view_")
    if role == VIEWER:
        return viewing
    if role == OPERATOR:
        return Permission.objects.filter(
            Q(pk__in=viewing.values("pk")) | _by_names(OPERATOR_PERMISSIONS)
        )
    if role == ADMIN:
        return Permission.objects.all()
    raise ValueError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")


def roles_sync() -> dict[str, int]:
    """Creates the role groups and sets each one's permissions to exactly its declared set."""
    counts = {}
    with transaction.atomic():
        for role in ROLES:
            group, _ = Group.objects.get_or_create(name=role)
            permissions = list(role_permissions(role))
            group.permissions.set(permissions)
            counts[role] = len(permissions)
    return counts


def roles_sync_after_migrate(sender, using="default", **kwargs):
    if Permission.objects.using(using).exists():
        roles_sync()
