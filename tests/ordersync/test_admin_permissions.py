"""Every admin action of every registered ModelAdmin, found on admin.site (so a new action is walked too):
a staff user holding every permission except the one that guards it is refused and nothing changes; a staff user
with only view permissions plus that one runs it and something changes. No action may be guarded by "view"."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Group, Permission, User
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from analytics.services import promotion_create
from channels_integration.connectors.inbound import inbound_receive
from channels_integration.connectors.payload import Identity
from channels_integration.models import Reconciliation
from channels_integration.services import api_key_create, channel_create, sku_mapping_upsert
from compliance.models import ComplianceRule, Erasure
from compliance.services import rule_save
from inventory.catalog import allocation_set
from notifications.models import ChannelNotificationSettings
from notifications.services import notification_endpoint_ensure
from orders.fsm import Status
from sync.models import Delivery, OperatorAlert
from sync.services import endpoint_disable
from tests.compliance.conftest import ingest
from tests.notifications.conftest import deliver_pending
from tests.orders.factories import make_order, stock_skus
from tests.sync.factories import make_endpoint, publish

SNAPSHOT_APPS = ("auth", "axes", "channels_integration", "inventory", "orders", "sync", "notifications", "analytics")

ACTIONS = sorted(
    (f"{model._meta.label}.{name}", model_admin, name)
    for model, model_admin in admin.site._registry.items()
    for _func, name, _description in model_admin._get_base_actions()
)


@pytest.fixture
def seeded(db):
    """A row of every model with actions, in a state each action would change."""
    Group.objects.create(name="walkers")
    channel = channel_create(code="perm-walk")
    api_key_create(channel=channel, scopes=["orders:read"])
    channel_create(code="perm-walk-unused")  # deletable: no orders hold on to it
    stock_skus("SKU-A", "SKU-B")
    allocation_set(channel=channel, sku_code="SKU-A", cap=10, actor="user:walker")
    woo = channel_create(code="perm-walk-woo", kind="woocommerce", store_url="http://127.0.0.1:9")
    sku_mapping_upsert(channel=woo, sku_code="SKU-A", product_id=1, variant_id=2)
    inbound_receive(channel=channel, identity=Identity(topic="orders/create", dedupe_key="walk-1"), headers={},
                    body=b"{", parse_error="malformed JSON: walk")  # failed: re-processable
    Reconciliation.objects.create(channel=channel)  # the state row a reconciliation run keeps
    email = notification_endpoint_ensure()
    ChannelNotificationSettings.objects.create(channel=channel)
    make_order(channel, Status.NEW)  # with its lines, history, reservations and ledger rows
    make_order(channel, Status.ON_HOLD)  # a hold to release
    deliver_pending(email)  # its order.created email: a sent notification to resend
    active, _ = make_endpoint(url="http://127.0.0.1:9/active")
    disabled, _ = make_endpoint(url="http://127.0.0.1:9/disabled")
    publish(order_id=1)
    publish(order_id=2)
    dead = Delivery.objects.filter(endpoint=active, event__order_id=1).get()
    Delivery.objects.filter(pk=dead.pk).update(state=Delivery.State.DEAD)
    OperatorAlert.objects.create(kind=OperatorAlert.Kind.DELIVERY_DEAD, endpoint=active, delivery=dead,
                                 message="dead")
    endpoint_disable(endpoint_id=disabled.pk, reason="seeded")
    # Last, so no order above is held by it: an order on hold for a compliance rule, to release or cancel.
    rule_save(rule=ComplianceRule(name="walk", kind="blocked_country", countries=["GB"]),
              user=User.objects.create_superuser("rule-editor", password="pw"))
    ingest(channel, external_id="walk-held")
    Erasure.objects.create(email_sha256="", actor="walk", counts={}, order_ids=[])  # the erasure log's row
    promotion_create(name="seeded sale", starts_at=timezone.now(), ends_at=timezone.now() + timedelta(days=1),
                     uplift_percent=50)
    AccessAttempt.objects.create(username="guesser", ip_address="127.0.0.1", failures_since_start=9,
                                 get_data="", post_data="", http_accept="", path_info="/admin/login/")


def snapshot() -> dict:
    """Every row of every model; logging in (last_login, axes' access log) is not a change an action made."""
    return {
        model._meta.label: [{k: v for k, v in row.items() if k != "last_login"}
                            for row in model._default_manager.order_by("pk").values()]
        for app in SNAPSHOT_APPS
        for model in apps.get_app_config(app).get_models()
        if model._meta.label != "axes.AccessLog"
    }


def staff_with(permissions) -> User:
    user = User.objects.create_user(f"staff{User.objects.count()}", password="pw", is_staff=True)
    user.user_permissions.set(permissions)
    return User.objects.get(pk=user.pk)  # fresh permission cache


def offers(model_admin, name: str, user: User) -> bool:
    request = RequestFactory().get("/")
    request.user = user
    return name in model_admin.get_actions(request)


def guarding_permissions(model_admin, name: str) -> list[Permission]:
    """The permissions whose removal, from a staff user holding all of them, takes the action away."""
    everything = list(Permission.objects.all())
    user = staff_with(everything)
    guarding = []
    for permission in everything:
        user.user_permissions.remove(permission)
        if not offers(model_admin, name, User.objects.get(pk=user.pk)):
            guarding.append(permission)
        user.user_permissions.add(permission)
    return guarding


def rows(model_admin) -> list:
    selected = list(model_admin.get_queryset(RequestFactory().get("/")).values_list("pk", flat=True))
    assert selected, f"the seed has no {model_admin.opts.label} to act on; add one to the `seeded` fixture"
    return selected


def run_action(client, model_admin, name: str, user: User, selected: list):
    opts = model_admin.opts
    client.force_login(user)
    return client.post(
        reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
        {"action": name, "_selected_action": selected, "index": 0, "post": "yes", "reason": "admin walk"},
    )


def test_the_walk_found_the_state_changing_actions():
    names = {label for label, _admin, _name in ACTIONS}
    assert {"sync.Endpoint.enable", "sync.Endpoint.disable", "sync.Endpoint.replay_dead", "sync.Delivery.replay",
            "sync.Delivery.cancel", "sync.OperatorAlert.resolve"} <= names


@pytest.mark.parametrize(("label", "model_admin", "name"), ACTIONS, ids=[label for label, _a, _n in ACTIONS])
def test_every_admin_action_needs_more_than_view(label, model_admin, name, seeded, client):
    func = model_admin.get_action(name)[0]
    declared = getattr(func, "allowed_permissions", ())
    assert declared and "view" not in declared, f"{label} must be guarded by a change or custom permission"

    everyone = User.objects.create_superuser("root", password="pw")
    if not offers(model_admin, name, everyone):
        # Offered to nobody (delete on a read-only console): refused even with every permission.
        holder = staff_with(Permission.objects.all())
        before = snapshot()
        response = run_action(client, model_admin, name, holder, rows(model_admin))
        assert response.status_code in (200, 302)
        assert snapshot() == before
        return

    guarding = guarding_permissions(model_admin, name)
    assert guarding, f"{label}: no single permission guards it"
    assert not [p for p in guarding if p.codename.startswith("view_")], f"{label} is guarded by a view permission"

    lacking = staff_with(Permission.objects.exclude(pk__in=[p.pk for p in guarding]))
    holder = staff_with([*Permission.objects.filter(codename__startswith="view_"), *guarding])
    before = snapshot()
    response = run_action(client, model_admin, name, lacking, rows(model_admin))
    assert response.status_code in (200, 302)
    assert not offers(model_admin, name, lacking)
    assert snapshot() == before, f"{label} changed data for a user without {guarding}"

    # One row at a time: a row the action may not touch (a channel that has orders) must not hide the others.
    for pk in rows(model_admin):
        response = run_action(client, model_admin, name, holder, [pk])
        assert response.status_code in (200, 302), response.content[:500]
        if snapshot() != before:
            break
    else:
        raise AssertionError(f"{label} changed nothing for a user with {guarding}")
