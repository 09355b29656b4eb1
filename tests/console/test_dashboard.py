import re
from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from inventory.models import Sku
from orders.fsm import Status
from orders.models import Order
from sync.models import OperatorAlert
from tests.console.factories import add_delivery, add_inbound
from tests.orders.factories import make_order, stock_skus
from tests.sync.factories import make_endpoint


def test_the_dashboard_shows_the_seeded_numbers_with_links(client, viewer, channel):
    stock_skus("SKU-A", "SKU-B")
    now = timezone.now()
    for hours_ago in (1, 1, 5):
        make_order(channel, Status.NEW, placed_at=(now - timedelta(hours=hours_ago)).isoformat())
    paid = make_order(channel, Status.PAID, placed_at=now.isoformat())
    Order.objects.filter(pk=paid.pk).update(updated_at=now - timedelta(minutes=30))
    endpoint = make_endpoint(url="http://127.0.0.1:9/hook")[0]
    add_delivery(paid, endpoint)
    add_inbound(paid)
    client.force_login(viewer)
    assert 'href="/admin/dashboard/"' in client.get(reverse("admin:index")).content.decode()
    body = client.get(reverse("console-dashboard")).content.decode()
    assert f'<span data-channel="{channel.code}">4</span>' in body
    assert body.count(f'data-channel="{channel.code}" data-count="2"') == 1  # the hour with two orders
    assert '<a id="dead-deliveries" href="/admin/sync/delivery/?state__exact=dead">1</a>' in body
    assert '>1</a>' in body.split('id="failed-inbound"')[1][:120]
    assert 'data-status="paid"' in body and body.split('data-status="paid"')[1].split("</a>")[0].endswith(">1")
    stuck_url = body.split('data-status="paid" href="')[1].split('"')[0].replace("&amp;", "&")
    listed = client.get(stuck_url)
    assert listed.status_code == 200 and paid.number in listed.content.decode()


def test_the_dashboard_needs_a_staff_login(client, db):
    assert client.get(reverse("console-dashboard")).status_code == 302


def test_low_stock_skus_and_open_alerts_link_to_their_lists(client, viewer, channel):
    stock_skus("SKU-A", "SKU-B")
    stock_skus("SKU-LOW", quantity=3)
    stock_skus("SKU-LOW", quantity=0, warehouse="second")  # a second low warehouse: still one SKU
    Sku.objects.filter(code="SKU-LOW").update(safety_stock=5)
    Sku.objects.filter(code="SKU-A").update(safety_stock=100)  # 100 free: at the threshold counts as low
    endpoint = make_endpoint(url="http://127.0.0.1:9/hook")[0]
    for resolved in (None, None, timezone.now()):
        OperatorAlert.objects.create(kind=OperatorAlert.Kind.ENDPOINT_DISABLED, endpoint=endpoint, message="410",
                                     resolved_at=resolved)
    client.force_login(viewer)
    body = client.get(reverse("console-dashboard")).content.decode()
    low = re.search(r'<a id="low-stock" href="([^"]+)">(\d+)</a>', body)
    alerts = re.search(r'<a id="open-alerts" href="([^"]+)">(\d+)</a>', body)
    assert (low.group(2), alerts.group(2)) == ("2", "2")
    listed = client.get(low.group(1).replace("&amp;", "&")).context["cl"].result_list
    assert {level.sku.code for level in listed} == {"SKU-LOW", "SKU-A"}
    assert len(client.get(alerts.group(1).replace("&amp;", "&")).context["cl"].result_list) == 2
