"""The console in real Chromium against a live HTTP server, with a real Celery worker delivering to a real local
webhook receiver: an operator reads the dashboard, replays a stuck order's dead delivery until it succeeds and
cancels an order; a viewer is offered none of it and refused when posting anyway.

It writes docs/img/console-dashboard.png and docs/img/console-order.png (the README's screenshots)."""

import re
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone

from orders.fsm import Status
from orders.models import Order, OrderStatusChange
from sync.models import Delivery
from tests.factories import ChannelFactory
from tests.harness.browser import chromium
from tests.harness.celery_worker import wait_until
from tests.orders.factories import make_order, stock_skus
from tests.sync.factories import make_endpoint, publish

pytestmark = [pytest.mark.needs_broker, pytest.mark.django_db(transaction=True)]

IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
PASSWORD = "pw-for-browser-tests"
# Orders placed this many hours ago, per channel (the dashboard's last 48 h).
PLACED = {"webshop": [1, 2, 2, 3], "market": [1, 5]}


@pytest.fixture
def browser():
    """Chromium for this test alone: tests/e2e keeps its own package-wide one, and two Playwright drivers must not
    be alive in one thread at once."""
    with chromium() as browser:
        yield browser


def member(role: str) -> User:
    user = User.objects.create_user(f"{role}-b", f"{role}-b@example.com", PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def shop(http_server, celery_worker):
    """Seeded orders per channel, a paid order stuck for 30 min whose delivery died at the receiver (503, one
    attempt, by the worker) and a new order to cancel."""
    stock_skus("SKU-A", "SKU-B")
    now = timezone.now()
    channels = {code: ChannelFactory(code=code) for code in PLACED}
    for code, hours in PLACED.items():
        for hours_ago in hours:
            make_order(channels[code], placed_at=(now - timedelta(hours=hours_ago)).isoformat())
    stuck = make_order(channels["webshop"], Status.PAID, placed_at=(now - timedelta(hours=1)).isoformat())
    to_cancel = make_order(channels["market"], placed_at=(now - timedelta(hours=5)).isoformat())
    # Endpoints come after the orders, so the only delivery is the one below.
    make_endpoint(url=http_server.url("/pay"), kind="payment", topics=["order.paid"], retry_schedule=[0])
    http_server.respond(503, path="/pay")
    publish("order.paid", order_id=stuck.pk)
    dead = wait_until(lambda: Delivery.objects.filter(state=Delivery.State.DEAD).first(), message="a dead delivery")
    Order.objects.filter(pk=stuck.pk).update(updated_at=now - timedelta(minutes=30))
    return {"stuck": stuck, "to_cancel": to_cancel, "dead": dead, "operator": member("operator"),
            "viewer": member("viewer")}


def log_in(browser, live_server, user):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    return page


def delivery_state(page) -> str:
    return page.locator("tr.timeline-delivery td.state").first.inner_text().strip()


def reload_until(page, predicate, *, timeout: float = 30.0, message: str):
    deadline = time.monotonic() + timeout
    while not predicate(page):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(0.3)
        page.reload()


def test_an_operator_works_the_console_and_a_viewer_may_only_look(browser, live_server, http_server, shop):
    stuck, dead = shop["stuck"], shop["dead"]
    page = log_in(browser, live_server, shop["operator"])

    page.click("#dashboard-link a")
    page.wait_for_url(f"{live_server.url}/admin/dashboard/")
    expected = {"webshop": len(PLACED["webshop"]) + 1, "market": len(PLACED["market"]) + 1}
    for code, n in expected.items():
        assert page.locator(f'#orders-by-channel span[data-channel="{code}"]').inner_text() == str(n)
        titles = page.locator(f'#orders-per-hour rect[data-channel="{code}"] title').all_text_contents()
        assert sum(int(title.split(": ")[1]) for title in titles) == n, titles
    assert page.locator("#dead-deliveries").inner_text() == "1"
    assert page.locator('a.stuck[data-status="paid"]').inner_text() == "1"
    page.screenshot(path=str(IMG / "console-dashboard.png"), full_page=True)

    page.click('a.stuck[data-status="paid"]')
    page.click(f"text={stuck.number}")
    assert delivery_state(page) == "dead"
    assert "503" in page.locator("tr.timeline-delivery table.attempts").inner_text()

    http_server.respond(200, path="/pay")  # the receiver is back
    page.goto(f"{live_server.url}/admin/dashboard/")
    page.click("#dead-deliveries")
    page.check(f'input[name="_selected_action"][value="{dead.pk}"]')
    page.select_option("select[name=action]", "replay")
    page.click("button[name=index]")
    assert str(dead) in page.locator("#bulk-rows").inner_text()
    page.click("#bulk-confirm input[type=submit]")
    assert "Re-queued 1 deliveries." in page.locator("ul.messagelist").inner_text()

    page.goto(f"{live_server.url}/admin/orders/order/{stuck.pk}/change/")
    reload_until(page, lambda p: delivery_state(p) == "succeeded", message="the replayed delivery to succeed")
    assert [r.path for r in http_server.requests_for("/pay")] == ["/pay", "/pay"]
    assert page.locator("tr.timeline-delivery table.attempts tr td:nth-child(2)").first.inner_text() == "200"
    page.screenshot(path=str(IMG / "console-order.png"), full_page=True)

    to_cancel = shop["to_cancel"]
    page.goto(f"{live_server.url}/admin/orders/order/{to_cancel.pk}/change/")
    page.click('a[data-transition="cancel"]')
    page.fill("textarea[name=reason]", "customer phoned to cancel")
    page.click("input[name=confirm]")
    page.wait_for_url(f"{live_server.url}/admin/orders/order/{to_cancel.pk}/change/")
    assert "it is now Cancelled" in page.locator("ul.messagelist").inner_text()
    assert page.locator("div.field-status div.readonly").inner_text() == "Cancelled"
    assert not page.locator("a[data-transition]").count()  # nothing follows a cancellation
    assert "customer phoned to cancel" in page.locator("tr.timeline-status").first.inner_text()
    assert OrderStatusChange.objects.filter(order=to_cancel).last().user == shop["operator"]

    viewer = log_in(browser, live_server, shop["viewer"])
    viewer.goto(f"{live_server.url}/admin/orders/order/{stuck.pk}/change/")
    assert delivery_state(viewer) == "succeeded"
    assert viewer.locator("a[data-transition]").count() == 0
    viewer.goto(f"{live_server.url}/admin/sync/delivery/")
    assert viewer.locator("select[name=action]").count() == 0
    csrf = next(c["value"] for c in viewer.context.cookies() if c["name"] == "csrftoken")
    refused = viewer.request.post(f"{live_server.url}/admin/orders/order/{stuck.pk}/transition/cancel/",
                                  form={"csrfmiddlewaretoken": csrf, "reason": "viewer tries"})
    assert refused.status == 403 and "CSRF" not in refused.text()
    replay = viewer.request.post(f"{live_server.url}/admin/sync/delivery/",
                                 form={"csrfmiddlewaretoken": csrf, "action": "replay", "post": "yes",
                                       "_selected_action": str(dead.pk)})
    assert replay.ok and not re.search(r"Re-queued \d+ deliveries", replay.text())
    assert Order.objects.get(pk=stuck.pk).status == Status.PAID
    assert Delivery.objects.get(pk=dead.pk).attempts == 1  # the replay's one attempt, not re-queued again
