"""The rules through the channel API: held at POST /orders/, 409 compliance_hold at start_fulfilment,
release through the API's release_hold with a reason; over real HTTP as well."""

import pytest

from compliance.models import ComplianceHold
from orders.models import Order
from tests.orders.conftest import ALL_ORDER_SCOPES
from tests.orders.factories import order_body

pytestmark = pytest.mark.django_db
ORDERS = "/api/v1/orders/"


@pytest.fixture
def api(make_api_client, channel, skus):
    return make_api_client(channel=channel, scopes=ALL_ORDER_SCOPES)


def test_api_ingest_holds_and_fulfilment_answers_409(api, make_rule):
    make_rule("age_restricted", sku="WINE-1")
    body = order_body(lines=[{"sku": "WINE-1", "quantity": 1, "unit_price": "12.00"}])
    response = api.post(ORDERS, body, format="json")
    assert response.status_code == 201 and response.json()["status"] == "on_hold"
    assert "WINE-1 needs an age-verified order" in response.json()["hold_reason"]

    ok = api.post(ORDERS, {**order_body(lines=body["lines"]), "age_verified": True}, format="json").json()
    assert ok["status"] == "new"
    assert api.post(ORDERS, {**order_body(), "age_verified": "yes"}, format="json").status_code == 400

    order_id = response.json()["id"]
    released = api.post(f"{ORDERS}{order_id}/transitions/release_hold/", {"reason": "ID checked"}, format="json")
    assert released.status_code == 200 and released.json()["status"] == "new"
    assert api.post(f"{ORDERS}{order_id}/transitions/pay/",
                    {"amount": "12.00", "currency": "EUR"}, format="json").status_code == 200
    make_rule("blocked_country", countries=["GB"])
    answer = api.post(f"{ORDERS}{order_id}/transitions/start_fulfilment/", {}, format="json")
    assert answer.status_code == 409 and answer.json()["code"] == "compliance_hold"
    assert "orders to GB are blocked" in answer.json()["detail"]
    assert [f["code"] for f in answer.json()["failures"]] == ["destination_blocked"]
    assert Order.objects.get(pk=order_id).status == "on_hold"
    assert ComplianceHold.objects.filter(order_id=order_id).count() == 2


def test_over_real_http(make_live_api, make_rule, skus):
    live = make_live_api(scopes=ALL_ORDER_SCOPES)
    make_rule("value_review", currency="EUR", threshold="20.00")
    response = live.session.post(live.url(ORDERS), json=order_body())
    assert response.status_code == 201 and response.json()["status"] == "on_hold"
    assert "review threshold 20.00" in response.json()["hold_reason"]


def test_bulk_ingest_holds_the_failing_orders_only(api, make_rule):
    rule = make_rule("max_quantity", sku="SKU-A", max_quantity=1)
    one = [{"sku": "SKU-A", "quantity": 1, "unit_price": "10.00"}]
    bodies = [order_body(), order_body(lines=one), order_body()]
    response = api.post(f"{ORDERS}bulk/", {"orders": bodies}, format="json")
    assert response.status_code in (200, 207), response.content
    statuses = {o.external_id: o.status for o in Order.objects.all()}
    assert [statuses[b["external_id"]] for b in bodies] == ["on_hold", "new", "on_hold"]
    holds = ComplianceHold.objects.all()
    assert len(holds) == 2 and all(h.failures[0]["rule"] == rule.pk for h in holds)
    from inventory.models import Reservation

    held_ids = [h.order_id for h in holds]
    assert not Reservation.objects.filter(order_id__in=held_ids).exists()


@pytest.mark.parametrize("path", ["", "bulk/"])
def test_an_unknown_sku_is_still_refused_not_held(api, make_rule, path):
    make_rule("blocked_country", countries=["GB"])
    body = order_body(lines=[{"sku": "NOPE-1", "quantity": 1, "unit_price": "1.00"}])
    response = api.post(ORDERS + path, {"orders": [body]} if path else body, format="json")
    text = response.content.decode()
    assert "unknown_sku" in text
    assert not Order.objects.exists() and not ComplianceHold.objects.exists()
