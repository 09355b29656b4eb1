"""Adapters: the channels' payloads (the shared fixtures and what real stores send besides) → the canonical order."""

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from channels_integration.connectors.adapters import shopify, woocommerce
from channels_integration.connectors.payload import PayloadError
from tests.channels_integration.payloads import encode, fixture, shopify_order, woo_order


def parsed(payload: dict) -> dict:
    """As processing reads a body: JSON numbers with a fraction become Decimal, never float."""
    return json.loads(encode(payload), parse_float=Decimal)


def test_the_shopify_fixture_maps_field_by_field():
    order = shopify.order_from(parsed(fixture("shopify-order.json")))
    assert order.external_id == "450789469"
    assert order.currency == "USD"
    assert [(line.sku, line.quantity, line.unit_price) for line in order.lines] == [
        ("IPOD2008GREEN", 1, Decimal("199.00")), ("IPOD2008RED", 1, Decimal("199.00")),
        ("IPOD2008BLACK", 1, Decimal("199.00"))]
    assert order.lines[0].name == "IPod Nano - 8gb - green" and order.lines[0].variant_id == 39072856
    assert (order.shipping_total, order.tax_total, order.discount_total, order.channel_total) == (
        Decimal("0.00"), Decimal("11.94"), Decimal("0.00"), Decimal("409.94"))
    assert order.customer_name == "Bob Norman" and order.customer_email == "bob.norman@hostmail.com"
    assert order.shipping_address == {"name": "Bob Norman", "line1": "Chestnut Street 92", "city": "Louisville",
                                      "postal_code": "40202", "region": "KY", "country": "US",
                                      "phone": "555-625-1199"}
    assert order.source_updated_at == datetime(2008, 1, 10, 16, 0, tzinfo=UTC)
    # financial_status "authorized" is not paid yet; the failed fulfilment is no fulfilment.
    assert not order.state.paid and not order.state.fulfilled and not order.state.cancelled


def test_the_woocommerce_fixture_maps_field_by_field():
    order = woocommerce.order_from(parsed(fixture("woocommerce-order.json")))
    assert order.external_id == "727"
    assert [(line.sku, line.quantity, line.unit_price, line.product_id, line.variant_id) for line in order.lines] == [
        ("", 2, Decimal("3.00"), 93, None), ("Bar3", 1, Decimal("12.00"), 22, 23)]
    assert (order.shipping_total, order.tax_total, order.discount_total, order.channel_total) == (
        Decimal("10.00"), Decimal("1.35"), Decimal("0.00"), Decimal("29.35"))
    assert order.customer_name == "John Doe" and order.customer_phone == "(555) 555-5555"
    assert order.billing_address["country"] == "US" and order.billing_address["region"] == "CA"
    assert order.source_updated_at == datetime(2017, 3, 22, 19, 28, 8, tzinfo=UTC)
    assert order.state.paid and not order.state.fulfilled  # processing = paid, not yet shipped


@pytest.mark.parametrize(("status", "paid", "fulfilled", "cancelled", "refunded"), [
    ("pending", False, False, False, False), ("on-hold", False, False, False, False),
    ("processing", True, False, False, False), ("completed", True, True, False, False),
    ("cancelled", False, False, True, False), ("refunded", True, False, False, True),
    ("failed", False, False, False, False),
])
def test_woocommerce_statuses(status, paid, fulfilled, cancelled, refunded):
    state = woocommerce.order_from(parsed(woo_order(status=status, date_paid_gmt=None))).state
    assert (state.paid, state.fulfilled, state.cancelled, state.refunded) == (paid, fulfilled, cancelled, refunded)


def test_64_bit_ids_unicode_and_money_survive_exactly():
    big = 987654321098765432
    payload = shopify_order(order_id=big, customer={"first_name": "Zoë", "last_name": "Ærøskøbing-Łódź 山田"},
                            shipping_address={"name": "山田 太郎", "address1": "東京都千代田区1-1", "city": "東京",
                                              "country_code": "jp", "zip": "100-0001"})
    payload["line_items"][0]["variant_id"] = big - 1
    payload["line_items"][0]["price"] = "0.10"
    order = shopify.order_from(parsed(payload))
    assert order.external_id == "987654321098765432"
    assert order.lines[0].variant_id == big - 1
    assert order.lines[0].unit_price == Decimal("0.10")
    assert order.customer_name == "Zoë Ærøskøbing-Łódź 山田"
    assert order.shipping_address == {"name": "山田 太郎", "line1": "東京都千代田区1-1", "city": "東京",
                                      "postal_code": "100-0001", "country": "JP"}


def test_woocommerce_float_prices_are_ignored_for_the_subtotal_strings_and_fees_are_counted():
    payload = woo_order(skus=("A", "B"))
    payload["line_items"][1].update(quantity=3, subtotal="10.00", price=3.3333333333333335)
    payload["fee_lines"] = [{"total": "2.50"}, {"total": "-1.00"}]
    order = woocommerce.order_from(parsed(payload))
    assert order.lines[1].unit_price == Decimal("3.33")  # 10.00 / 3 at the currency's precision
    assert order.shipping_total == Decimal("12.50") and order.discount_total == Decimal("1.00")


def test_taxes_included_in_prices_are_not_added_again():
    order = shopify.order_from(parsed(shopify_order(taxes_included=True)))
    assert order.tax_total == 0


@pytest.mark.parametrize(("adapter", "payload", "field"), [
    (shopify, shopify_order(id=None), "id"),
    (shopify, shopify_order(line_items=[]), "line_items"),
    (shopify, shopify_order(currency=None), "currency"),
    (shopify, shopify_order(updated_at="yesterday"), "updated_at"),
    (shopify, {**shopify_order(), "line_items": [{"sku": "X", "price": "1.00"}]}, "line_items[0].quantity"),
    (shopify, {**shopify_order(), "line_items": [{"sku": "X", "quantity": 1}]}, "line_items[0].price"),
    (shopify, shopify_order(id=True), "id"),
    (shopify, shopify_order(id=2**64), "id"),
    (woocommerce, woo_order(date_modified_gmt=None), "date_modified_gmt"),
    (woocommerce, {**woo_order(), "line_items": [{"sku": "X", "quantity": 1, "subtotal": "abc"}]},
     "line_items[0].subtotal"),
    (woocommerce, {**woo_order(), "line_items": [{"sku": "X", "quantity": 1.5, "subtotal": "1"}]},
     "line_items[0].quantity"),
])
def test_missing_or_malformed_required_fields_name_the_field(adapter, payload, field):
    with pytest.raises(PayloadError) as error:
        adapter.order_from(parsed(payload))
    assert error.value.field == field
    assert str(error.value).startswith(f"{field}: ")


def test_optional_and_null_fields_are_accepted():
    payload = shopify_order(customer=None, billing_address=None, shipping_address=None, email=None, phone=None,
                            shipping_lines=None, total_tax=None, total_discounts=None, customer_locale=None)
    payload["total_price"] = str(sum(Decimal(i["price"]) for i in payload["line_items"]))
    order = shopify.order_from(parsed(payload))
    assert order.customer_name == "" and order.shipping_address == {} and order.tax_total == 0


def test_delivery_identity_per_channel():
    body = encode(shopify_order())
    identity = shopify.identify({"x-shopify-topic": "orders/paid", "x-shopify-webhook-id": "w-1",
                                 "x-shopify-event-id": "e-1", "x-shopify-triggered-at": "t"},
                                parsed(shopify_order()), body)
    assert (identity.dedupe_key, identity.event_id, identity.external_id) == ("w-1", "e-1", "450789469")
    woo = woo_order()
    first = woocommerce.identify({"x-wc-webhook-id": "17", "x-wc-webhook-delivery-id": "d-1",
                                  "x-wc-webhook-topic": "order.updated"}, parsed(woo), encode(woo))
    retry = woocommerce.identify({"x-wc-webhook-id": "17", "x-wc-webhook-delivery-id": "d-2",
                                  "x-wc-webhook-topic": "order.updated"}, parsed(woo), encode(woo))
    assert first.dedupe_key == retry.dedupe_key  # a new delivery id is a retry, not a new message
    assert first.dedupe_key.startswith("17:727:2026-11-20T10:00:08:")
    changed = woo_order(status="completed")  # changed within the same second: another message
    assert woocommerce.identify({"x-wc-webhook-id": "17"}, parsed(changed), encode(changed)).dedupe_key \
        != first.dedupe_key
    refund = fixture("shopify-refund.json")
    assert shopify.refund_from(parsed(refund)).external_id == "450789469"
