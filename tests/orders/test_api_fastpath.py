"""Bulk's fast validation path against the serializer it is derived from: the same items accepted, with the same
validated data (types, Decimal exponents, key order), and the same items refused."""

from datetime import datetime
from decimal import Decimal
from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework import serializers

from orders.api.fastpath import FastValidator, fast_or_none
from orders.api.serializers import OrderInSerializer
from tests.orders.factories import order_body

REFUSED = "refused"
CHANNELS = [SimpleNamespace(currency=c) for c in ("EUR", "JPY", "KWD")]


def typed(value):
    """A comparable form that also tells "10.5" from "10.500" and a dict's key order."""
    if isinstance(value, dict):
        return ("dict", [(k, typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [typed(v) for v in value])
    if isinstance(value, Decimal):
        return ("Decimal", str(value))
    if isinstance(value, datetime):
        return ("datetime", value.isoformat(), str(value.tzinfo))
    return (type(value).__name__, value)


def serializer_says(item, channel):
    try:
        return typed(OrderInSerializer(context={"channel": channel}).run_validation(item))
    except serializers.ValidationError:
        return REFUSED


def fast_says(item, channel):
    data = fast_or_none(FastValidator(OrderInSerializer(context={"channel": channel})), item)
    return REFUSED if data is None else typed(data)


def _maybe_bad(good, *bad):
    return st.one_of(good, st.sampled_from([None, 5, True, 1.5, [], {}, *bad]))


TEXT = _maybe_bad(st.one_of(st.text(max_size=6), st.sampled_from(["", "  ", " Ada ", "x" * 100, "x" * 101, "x" * 201,
                                                                  "a\x00b", "\ud800", "\t\n"])))
MONEY = _maybe_bad(st.one_of(
    st.decimals(min_value=0, max_value=10**6, places=3, allow_nan=False).map(str),
    st.sampled_from(["10.50", "10.5", "0", "1.234", "1.2345", "-1", "1e3", " 10.5", "١٠", "00012.000", "10.",
                     "99999999999.999", "100000000000", "+1", ".5"]),
    st.integers(0, 100),
))
QUANTITY = _maybe_bad(st.integers(-2, 1_000_002), "2", 1.0, 10**30)
SKU = _maybe_bad(st.one_of(st.sampled_from(["SKU-A", "SKU-B", "sku-a", "SKU A", "", "A" * 70, " SKU-A"]),
                           st.text(max_size=5)))
LINE = _maybe_bad(st.fixed_dictionaries(
    {"sku": SKU, "quantity": QUANTITY, "unit_price": MONEY},
    optional={"name": TEXT, "unknown": st.integers()},
), "a line")
ADDRESS = _maybe_bad(st.fixed_dictionaries({}, optional={
    "name": TEXT, "line1": TEXT, "city": TEXT, "postal_code": TEXT,
    "country": _maybe_bad(st.sampled_from(["GB", "DE", "gb", "GBR", "", " GB"])),
}), "an address")
OPTIONAL = {
    "currency": _maybe_bad(st.sampled_from(["EUR", "JPY", "KWD", "eur", "XXX", ""])),
    "customer_name": TEXT,
    "customer_email": _maybe_bad(st.sampled_from(["ada@example.com", " ada@example.com ", "not-an-email", "",
                                                  "a@b"])),
    "customer_phone": TEXT,
    "language": _maybe_bad(st.sampled_from(["en", "en-GB", "EN", "english", "", "de-de"])),
    "shipping_address": ADDRESS,
    "billing_address": ADDRESS,
    "placed_at": _maybe_bad(st.sampled_from(["2026-11-20T10:00:00Z", "2026-11-20T10:00:00+05:30", "2026-11-20",
                                             "1999-12-31T23:00:00Z", "2100-01-02T00:00:00Z", "nope", ""])),
    "age_verified": _maybe_bad(st.booleans(), "true", 0),
    "shipping_total": MONEY, "tax_total": MONEY, "discount_total": MONEY, "total": MONEY,
    "unknown_field": st.integers(),
}
ANY_ORDER = st.fixed_dictionaries(
    {"external_id": _maybe_bad(st.sampled_from(["ext-1", " ext-2 ", "x" * 101])),
     "lines": _maybe_bad(st.lists(LINE, max_size=3), "lines")},
    optional=OPTIONAL,
)
PRINTABLE = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=30)
VALID_LINE = st.fixed_dictionaries(
    {"sku": st.sampled_from(["SKU-A", "SKU-B", "BENCH-7"]), "quantity": st.integers(1, 1_000_000),
     "unit_price": st.decimals(min_value=0, max_value=10**5, places=2, allow_nan=False).map(str)},
    optional={"name": PRINTABLE},
)


VALID_ADDRESS = st.fixed_dictionaries({}, optional={"name": PRINTABLE, "city": PRINTABLE,
                                                   "country": st.sampled_from(["GB", "DE"])})
VALID_ORDER = st.fixed_dictionaries(
    {"external_id": st.sampled_from(["ext-1", "ext-2"]), "lines": st.lists(VALID_LINE, min_size=1, max_size=3)},
    optional={"currency": st.sampled_from(["EUR", "KWD"]), "customer_name": PRINTABLE,
              "customer_email": st.just("ada@example.com"), "language": st.sampled_from(["en", "en-GB"]),
              "shipping_address": VALID_ADDRESS, "billing_address": VALID_ADDRESS,
              "placed_at": st.just("2026-11-20T10:00:00Z"), "age_verified": st.booleans(),
              "shipping_total": st.just("4.00"), "tax_total": st.just("1"), "discount_total": st.just("0.5")},
)
TOP = {"external_id": TEXT, "lines": _maybe_bad(st.lists(LINE, max_size=3), "lines"), **OPTIONAL}
IN_LINE = {"sku": SKU, "quantity": QUANTITY, "unit_price": MONEY, "name": TEXT}
IN_ADDRESS = {"name": TEXT, "city": TEXT, "postal_code": TEXT,
              "country": _maybe_bad(st.sampled_from(["GB", "gb", "GBR", "", " GB"]))}
GONE = object()


@st.composite
def near_valid_orders(draw):
    """A valid order with one to three values replaced (by anything, valid or not) or removed: a weakened check
    shows on an order that is otherwise fine, not only beside other errors."""
    item = draw(VALID_ORDER)
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(["top", "line", "address"]))
        lines = item.get("lines")
        if where == "line" and isinstance(lines, list) and lines and isinstance(lines[0], dict):
            target, pool = lines[0], IN_LINE
        elif where == "address" and isinstance(item.get("shipping_address"), dict):
            target, pool = item["shipping_address"], IN_ADDRESS
        else:
            target, pool = item, TOP
        key = draw(st.sampled_from(sorted(pool)))
        value = draw(st.one_of(pool[key], st.just(GONE)))
        if value is GONE:
            target.pop(key, None)
        else:
            target[key] = value
    return item


@settings(max_examples=1000, deadline=None)
@given(item=st.one_of(near_valid_orders(), ANY_ORDER, _maybe_bad(st.just({}), "an order")),
       channel=st.sampled_from(CHANNELS))
def test_fast_path_and_serializer_accept_and_refuse_the_same_items(item, channel):
    assert fast_says(item, channel) == serializer_says(item, channel)


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(VALID_LINE, min_size=1, max_size=5), name=PRINTABLE)
def test_valid_orders_take_the_fast_path_with_the_serializers_data(lines, name):
    item = order_body(lines=lines, customer_name=name)
    data = fast_or_none(FastValidator(OrderInSerializer(context={"channel": CHANNELS[0]})), item)
    assert data is not None
    assert typed(data) == serializer_says(item, CHANNELS[0])


def test_the_bench_and_test_bodies_take_the_fast_path():
    validator = FastValidator(OrderInSerializer(context={"channel": CHANNELS[0]}))
    assert fast_or_none(validator, order_body()) is not None
