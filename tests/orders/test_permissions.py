"""Users (admin operators) move orders only with the Django permission of that transition."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission, User
from django.utils import timezone

from inventory.models import Reservation
from orders.actors import Actor
from orders.errors import TransitionForbidden
from orders.fsm import TRANSITIONS, allowed_from
from orders.models import Order
from orders.services import order_transition
from ordersync.celery import app as celery_app
from tests.orders.factories import PATH_TO, make_order, payload_for

pytestmark = pytest.mark.django_db


def user_with(*permissions: str, name: str) -> User:
    user = User.objects.create_user(name, is_staff=True)
    codenames = [p.split(".", 1)[1] for p in permissions]
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="orders", codename__in=codenames))
    return User.objects.get(pk=user.pk)  # fresh instance: no cached permissions


def _source_of(name: str) -> str:
    return next(state for state in PATH_TO if name in allowed_from(Order, state))


PERMISSIONS = {name: spec.permission_name for name, spec in TRANSITIONS.items() if not spec.system_only}


@pytest.mark.parametrize("name", list(PERMISSIONS))
def test_each_transition_needs_its_django_permission(channel, skus, name):
    order = make_order(channel, _source_of(name))
    others = [p for n, p in PERMISSIONS.items() if n != name]
    with pytest.raises(TransitionForbidden) as exc:
        order_transition(order_id=order.pk, name=name, actor=Actor.for_user(user_with(*others, name="lacks")),
                         payload=payload_for(name, order))
    assert exc.value.status_code == 403 and f"may not {name}" in str(exc.value.detail)
    holder = user_with(PERMISSIONS[name], name="holds")
    moved = order_transition(order_id=order.pk, name=name, actor=Actor.for_user(holder),
                             payload=payload_for(name, order))
    assert moved.status != _source_of(name)
    assert moved.status_changes.latest("id").user == holder


def test_expire_is_system_only_even_for_a_superuser(channel, skus):
    order = make_order(channel)
    Reservation.objects.filter(order_id=order.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    root = User.objects.create_superuser("root", "root@example.com", "pw")
    with pytest.raises(TransitionForbidden) as exc:
        order_transition(order_id=order.pk, name="expire", actor=Actor.for_user(root), payload={"reason": "now"})
    assert "system only" in str(exc.value.detail)
    assert order_transition(order_id=order.pk, name="expire", actor=Actor.system()).status == "cancelled"


def test_expiry_task_is_registered_and_scheduled():
    entry = next(e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "orders.expire_unpaid_orders")
    assert entry["schedule"].total_seconds() > 0
    celery_app.loader.import_default_modules()
    assert "orders.expire_unpaid_orders" in celery_app.tasks
