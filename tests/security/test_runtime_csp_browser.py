"""Real Chromium under the Content-Security-Policy: admin pages and the Swagger UI work (their scripts run, no
violation is reported), and the policy is enforced (an injected inline script does not run)."""

import pytest
from django.urls import reverse

from orders.fsm import Status
from tests.e2e import conftest as e2e
from tests.orders.factories import make_order, stock_skus
from tests.sync.factories import make_endpoint, publish

page, operator, logged_in_page = e2e.page, e2e.operator, e2e.logged_in_page
# The e2e browser, scoped to this module: package scope outside tests/e2e would keep it (and the async-unsafe
# allowance it sets) alive across whatever pytest runs between this package's tests.
browser = pytest.fixture(scope="module", name="browser")(e2e.browser.__wrapped__)

pytestmark = pytest.mark.django_db(transaction=True)

RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation",
    (e) => window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
"""
INJECT_INLINE_SCRIPT = """() => {
    const script = document.createElement("script");
    script.textContent = "window.__injectedRan = true";
    document.body.appendChild(script);
    return window.__injectedRan === true;
}"""


@pytest.fixture
def console(logged_in_page, channel):
    stock_skus("SKU-A", "SKU-B")
    order = make_order(channel, Status.NEW)
    make_endpoint(url="http://127.0.0.1:9/pay")
    publish(order_id=order.pk)
    logged_in_page.add_init_script(RECORD_VIOLATIONS)
    logged_in_page.order = order
    return logged_in_page


def visit(page, url: str) -> None:
    response = page.goto(url)
    assert response.status == 200, url
    assert "script-src 'self'" in response.headers.get("content-security-policy", ""), url
    page.wait_for_load_state("networkidle")


def violations(page) -> list[str]:
    return page.evaluate("window.__cspViolations")


def test_admin_pages_work_under_the_policy(console, live_server):
    pages = [
        reverse("admin:index"),
        reverse("admin:orders_order_changelist"),
        reverse("admin:orders_order_change", args=[console.order.pk]),
        reverse("admin:inventory_stocklevel_changelist"),
        reverse("admin:inventory_stocklevel_adjust") + "?sku=SKU-A&warehouse=main",
        reverse("admin:sync_endpoint_changelist"),
    ]
    for path in pages:
        visit(console, live_server.url + path)
        assert violations(console) == [], path

    # admin's actions.js runs: ticking "select all" updates the counter.
    visit(console, live_server.url + reverse("admin:sync_delivery_changelist"))
    console.check("#action-toggle")
    assert "1 of 1 selected" in console.locator(".action-counter").inner_text()
    assert violations(console) == []

    assert console.evaluate(INJECT_INLINE_SCRIPT) is False, "an injected inline script ran: no policy enforced"
    assert any(v.startswith("script-src") for v in violations(console))


def test_the_swagger_ui_renders_the_api_under_the_policy(page, live_server):
    page.add_init_script(RECORD_VIOLATIONS)
    visit(page, f"{live_server.url}/api/docs/")
    page.wait_for_selector(".opblock-summary-path", timeout=20_000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert "/api/v1/orders/bulk/" in paths
    assert violations(page) == []
