"""`story(i)`: one more row of every model the console lists, through the services where one exists. Calling it
again adds another set (codes carry `i`), so a changelist can be measured with one story and with several."""

from datetime import timedelta

from axes.models import AccessAttempt
from django.contrib.auth.models import Group, User
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
from tests.orders.factories import make_order, order_body, stock_skus
from tests.sync.factories import make_endpoint, publish

HELD_COUNTRY = "FR"  # orders shipped here are held by the compliance rule each story saves


def story(i: int) -> None:
    Group.objects.create(name=f"group-{i}")
    editor = User.objects.create_superuser(f"editor-{i}", password="pw")
    stock_skus("SKU-A", "SKU-B", f"SKU-{i}", warehouse=f"wh-{i}")
    channel = channel_create(code=f"story-{i}")
    api_key_create(channel=channel, scopes=["orders:read"])
    allocation_set(channel=channel, sku_code="SKU-A", cap=10, actor=f"user:{editor.username}")
    woo = channel_create(code=f"story-woo-{i}", kind="woocommerce", store_url="http://127.0.0.1:9")
    sku_mapping_upsert(channel=woo, sku_code="SKU-A", product_id=i + 1, variant_id=i + 2)
    inbound_receive(channel=channel, identity=Identity(topic="orders/create", dedupe_key=f"story-{i}"), headers={},
                    body=b"{", parse_error="malformed JSON")
    Reconciliation.objects.create(channel=channel)
    email = notification_endpoint_ensure()
    ChannelNotificationSettings.objects.create(channel=channel)
    first = make_order(channel, Status.NEW)
    make_order(channel, Status.ON_HOLD)
    deliver_pending(email)
    endpoint, _ = make_endpoint(url=f"http://127.0.0.1:9/story-{i}")
    publish(order_id=first.pk)
    dead = Delivery.objects.filter(endpoint=endpoint).get()
    Delivery.objects.filter(pk=dead.pk).update(state=Delivery.State.DEAD)
    OperatorAlert.objects.create(kind=OperatorAlert.Kind.DELIVERY_DEAD, endpoint=endpoint, delivery=dead,
                                 message="dead")
    disabled, _ = make_endpoint(url=f"http://127.0.0.1:9/story-{i}-off")
    endpoint_disable(endpoint_id=disabled.pk, reason="seeded")  # for enable to act on
    rule_save(rule=ComplianceRule(name=f"story-{i}", kind="blocked_country", countries=[HELD_COUNTRY]), user=editor)
    shipping = {**order_body()["shipping_address"], "country": HELD_COUNTRY}
    ingest(channel, external_id=f"held-{i}", shipping_address=shipping)
    Erasure.objects.create(email_sha256="", actor=f"story-{i}", counts={}, order_ids=[])
    promotion_create(name=f"sale {i}", starts_at=timezone.now(), ends_at=timezone.now() + timedelta(days=1),
                     uplift_percent=50)
    AccessAttempt.objects.create(username=f"guesser-{i}", ip_address="127.0.0.1", failures_since_start=2,
                                 get_data="", post_data="", http_accept="", path_info="/admin/login/")
