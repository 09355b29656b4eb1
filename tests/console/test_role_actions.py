"""Each role × each admin action found on admin.site, posted as that role's member after confirming: it changes
data exactly when the role holds it (viewer: never; operator: the repairs; admin: everything offered to it).
Each role × each order transition page: a viewer is refused (403), the others may open every transition a person
may run, and nobody a system-only one."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import User
from django.test import RequestFactory
from django.urls import reverse

from console.roles import ROLES
from orders.actors import Actor
from orders.fsm import TRANSITIONS, Status
from orders.models import Order
from orders.services import actor_may
from tests.console.seed import story
from tests.console.test_roles import OPERATOR_ACTIONS

ACTIONS = sorted(
    (model._meta.label, model_admin, name)
    for model, model_admin in admin.site._registry.items()
    for _func, name, _description in model_admin._get_base_actions()
)

# Rows that logging in or the request itself writes, not the action.
NOT_ACTIONS = {"sessions.Session", "axes.AccessLog", "axes.AccessFailureLog"}


def snapshot() -> dict:
    return {
        model._meta.label: [{k: v for k, v in row.items() if k != "last_login"}
                            for row in model._default_manager.order_by("pk").values()]
        for model in apps.get_models() if model._meta.label not in NOT_ACTIONS
    }


def offered_to_superuser(model_admin, name: str) -> bool:
    request = RequestFactory().get("/")
    request.user = User(is_superuser=True, is_staff=True, is_active=True)
    return name in model_admin.get_actions(request)


def holds(role: str, label: str, model_admin, name: str) -> bool:
    """The admin role holds every permission: it may run whatever a superuser is offered."""
    if role == "admin":
        return offered_to_superuser(model_admin, name)
    return role == "operator" and name in OPERATOR_ACTIONS.get(label, set())


def post_action(client, model_admin, name, pks):
    opts = model_admin.opts
    return client.post(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
                       {"action": name, "_selected_action": pks, "index": 0, "post": "yes", "reason": "role walk"})


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("label", "model_admin", "name"), ACTIONS, ids=[f"{lb}.{n}" for lb, _a, n in ACTIONS])
def test_each_role_runs_exactly_its_actions(client, role_user, role, label, model_admin, name):
    story(0)
    client.force_login(role_user(role))
    pks = list(model_admin.model._default_manager.order_by("pk").values_list("pk", flat=True))
    assert pks, f"the story seeds no {label}"
    before = snapshot()
    if not holds(role, label, model_admin, name):
        # 403: the role may not even view that list (users, lockouts, compliance); else admin drops the action.
        assert post_action(client, model_admin, name, pks).status_code in (200, 302, 403)
        assert snapshot() == before, f"a {role} changed data with {label}.{name}"
        return
    # One row at a time: a row the action refuses (a shipped order to cancel) must not hide the others.
    for pk in pks:
        assert post_action(client, model_admin, name, [pk]).status_code in (200, 302)
        if snapshot() != before:
            return
    raise AssertionError(f"a {role} could not run {label}.{name}")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", sorted(TRANSITIONS))
def test_each_role_is_let_into_exactly_its_transition_pages(client, role_user, role, name):
    story(0)
    order = Order.objects.filter(status=Status.NEW).first()
    user = role_user(role)
    client.force_login(user)
    url = reverse("admin:orders_order_transition", args=[order.pk, name])
    may = role != "viewer" and actor_may(Actor.for_user(user), name)
    assert client.get(url).status_code == (200 if may else 403)
    if not may:
        assert client.post(url, {"reason": "role walk"}).status_code == 403
        assert Order.objects.get(pk=order.pk).status == Status.NEW
