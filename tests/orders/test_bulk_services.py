"""order_ingest_bulk: every item answered as order_ingest would answer it alone, with batched writes."""

import pytest

from inventory.models import Reservation, StockLevel
from orders.actors import Actor
from orders.fsm import Status
from orders.models import Order, OrderLine, OrderStatusChange
from orders.services import order_ingest, order_ingest_bulk
from sync.models import Event
from tests.factories import ChannelFactory
from tests.orders.factories import order_body, service_data
from tests.orders.test_concurrency import run_in_threads

SHORT = [{"sku": "SKU-A", "quantity": 60, "unit_price": "1.00"}]


def bulk(channel, *bodies):
    return order_ingest_bulk(channel=channel, items=[service_data(b) for b in bodies], actor=Actor.system())


def answers(results):
    return [(r.result.created if r.result else r.error.code) for r in results]


def reserved(sku: str) -> int:
    return StockLevel.objects.get(sku__code=sku).reserved


def trail(order) -> list[tuple]:
    return list(OrderStatusChange.objects.filter(order=order).values_list("transition", "to_status", "actor"))


def topics(order) -> list[str]:
    return list(Event.objects.filter(order_id=order.pk).order_by("sequence").values_list("topic", flat=True))


@pytest.mark.django_db
def test_reject_policy_refuses_the_short_order_alone_and_stores_nothing_of_it(skus):
    channel = ChannelFactory(insufficient_stock_policy="reject")
    results = bulk(channel, order_body(external_id="r-1", lines=SHORT), order_body(external_id="r-2", lines=SHORT),
                   order_body(external_id="r-3"))

    assert answers(results) == [True, "insufficient_stock", True]
    assert results[1].error.status_code == 409
    assert results[1].error.extra == {"skus": ["SKU-A"], "shortages": [
        {"sku": "SKU-A", "requested": 60, "available": 40}]}
    assert set(Order.objects.values_list("external_id", flat=True)) == {"r-1", "r-3"}
    assert reserved("SKU-A") == 62 and reserved("SKU-B") == 1
    stored = set(Order.objects.values_list("pk", flat=True))
    assert set(Reservation.objects.values_list("order_id", flat=True)) == stored
    assert {o.external_id: o.lines.count() for o in Order.objects.all()} == {"r-1": 1, "r-3": 2}
    for order in Order.objects.all():
        assert trail(order) == [("create", "new", "system")] and topics(order) == ["order.created"]


@pytest.mark.django_db
def test_hold_policy_stores_the_short_order_on_hold_like_single_ingest(channel, skus):
    results = bulk(channel, order_body(external_id="h-1", lines=SHORT), order_body(external_id="h-2", lines=SHORT))
    single = order_ingest(channel=channel, data=service_data(order_body(external_id="h-3", lines=SHORT)),
                          actor=Actor.system()).order

    assert answers(results) == [True, True]
    first, held = (r.result.order for r in results)
    assert first.status == Status.NEW and topics(first) == ["order.created"]
    for order in (held, single):
        order.refresh_from_db()
        assert (order.status, order.hold_reason) == (Status.ON_HOLD, "insufficient stock: SKU-A")
        assert trail(order) == [("create", "new", "system"), ("hold", "on_hold", "system")]
        assert topics(order) == ["order.created", "order.on_hold"]
    bulk_payloads = [e.payload for e in Event.objects.filter(order_id=held.pk).order_by("sequence")]
    single_payloads = [e.payload for e in Event.objects.filter(order_id=single.pk).order_by("sequence")]
    assert bulk_payloads[1]["status"] == single_payloads[1]["status"] == "on_hold"
    assert bulk_payloads[1]["transition"] == single_payloads[1]["transition"]
    assert reserved("SKU-A") == 60
    assert list(Reservation.objects.values_list("order_id", flat=True)) == [first.pk]


@pytest.mark.django_db
def test_a_later_item_with_the_id_of_a_refused_one_is_tried_again(channel, skus):
    ghost = [{"sku": "GHOST", "quantity": 1, "unit_price": "1.00"}]
    results = bulk(channel, order_body(external_id="d-1", lines=ghost), order_body(external_id="d-1"),
                   order_body(external_id="d-1"), order_body(external_id="d-1", customer_name="Changed"),
                   order_body(external_id="d-2"))

    assert answers(results) == ["unknown_sku", True, False, "duplicate_external_id", True]
    assert results[0].error.extra == {"skus": ["GHOST"]}
    assert results[1].result.order.pk == results[2].result.order.pk
    assert results[3].error.extra == {"order_id": results[1].result.order.pk}
    assert Order.objects.count() == 2 and OrderLine.objects.count() == 4
    assert Event.objects.count() == 2 and OrderStatusChange.objects.count() == 2


@pytest.mark.django_db
def test_bulk_writes_rows_per_table_not_per_order(channel, skus, django_assert_max_num_queries):
    bodies = [order_body(external_id=f"n-{i}") for i in range(20)]
    # event_publish (sync) costs 3 queries per order; everything else is a fixed number of statements.
    with django_assert_max_num_queries(3 * 20 + 20):
        results = bulk(channel, *bodies)
    assert answers(results) == [True] * 20
    assert reserved("SKU-A") == 40 and reserved("SKU-B") == 20
    orders = Order.objects.all()
    assert all(topics(o) == ["order.created"] and len(trail(o)) == 1 and o.lines.count() == 2 for o in orders)
    lines = {line.pk: line for line in OrderLine.objects.all()}
    for reservation in Reservation.objects.all():
        line = lines[reservation.order_line_id]
        assert (line.order_id, line.quantity) == (reservation.order_id, reservation.quantity)


@pytest.mark.django_db(transaction=True)
def test_concurrent_bulks_and_single_ingest_sharing_ids_create_each_order_once(channel, skus):
    ids = [f"c-{i}" for i in range(12)]
    bodies = {external_id: order_body(external_id=external_id) for external_id in ids}
    data = {external_id: service_data(body) for external_id, body in bodies.items()}

    def batch(chosen):
        return lambda: order_ingest_bulk(channel=channel, items=[data[i] for i in chosen], actor=Actor.system())

    outcomes = run_in_threads(
        batch(ids), batch(list(reversed(ids))), batch(ids[::2]),
        lambda: order_ingest(channel=channel, data=data["c-5"], actor=Actor.system()),
    )

    assert not [o for o in outcomes if isinstance(o, Exception)]
    created = [r.result.order.external_id for batch_results in outcomes[:3] for r in batch_results if r.result.created]
    created += ["c-5"] if outcomes[3].created else []
    assert sorted(created) == sorted(ids)
    assert all(r.error is None for batch_results in outcomes[:3] for r in batch_results)
    assert Order.objects.count() == 12 and Event.objects.count() == 12 and OrderStatusChange.objects.count() == 12
    assert reserved("SKU-A") == 24 and reserved("SKU-B") == 12


@pytest.mark.django_db(transaction=True)
def test_stock_taken_between_prediction_and_reservation_is_answered_from_the_real_stock(channel, skus, monkeypatch):
    """Another request takes SKU-A right after the unlocked read: the bulk must hold the order it no longer
    covers, with the real shortage, and keep no trace of the first attempt."""
    import orders.services.bulk as bulk_module
    from inventory.services import LineRequest, stock_reserve
    from tests.threads import run_concurrently

    real_preview = bulk_module.stock_preview_many

    def preview_then_race(**kwargs):
        prediction = real_preview(**kwargs)
        run_concurrently([lambda: stock_reserve(order_id=999_999, lines=[LineRequest(1, "SKU-A", 90)],
                                                actor="rival")])
        return prediction

    monkeypatch.setattr(bulk_module, "stock_preview_many", preview_then_race)
    results = bulk(channel, order_body(external_id="m-1"), order_body(external_id="m-2", lines=SHORT))

    assert answers(results) == [True, True]
    first, held = (r.result.order for r in results)
    held.refresh_from_db()
    assert first.status == Status.NEW and held.status == Status.ON_HOLD
    assert OrderStatusChange.objects.get(order=held, transition="hold").payload == {
        "shortages": [{"sku": "SKU-A", "requested": 60, "available": 8}]}
    assert topics(first) == ["order.created"] and topics(held) == ["order.created", "order.on_hold"]
    assert Order.objects.count() == 2 and OrderStatusChange.objects.count() == 3 and Event.objects.count() == 3
    assert reserved("SKU-A") == 92


@pytest.mark.django_db(transaction=True)
def test_racing_bulks_and_single_ingests_on_scarce_stock_never_oversell(skus):
    """SKU-A has 100 units, every order wants 9 (split over two lines, in either order) plus one SKU-B."""
    channel = ChannelFactory(insufficient_stock_policy="reject")

    def body(external_id, n):
        lines = [{"sku": "SKU-A", "quantity": 4, "unit_price": "1.00"},
                 {"sku": "SKU-B", "quantity": 1, "unit_price": "1.00"},
                 {"sku": "SKU-A", "quantity": 5, "unit_price": "1.00"}]
        return service_data(order_body(external_id=external_id, lines=lines if n % 2 else lines[::-1]))

    def batch(k):
        items = [body(f"s-{k}-{n}", n) for n in range(5)]
        return lambda: order_ingest_bulk(channel=channel, items=items, actor=Actor.system())

    def single(k):
        return lambda: order_ingest(channel=channel, data=body(f"one-{k}", k), actor=Actor.system())

    outcomes = run_in_threads(*[batch(k) for k in range(4)], *[single(k) for k in range(6)])

    refused_singles = [o for o in outcomes[4:] if isinstance(o, Exception)]
    assert all(getattr(o, "code", None) == "insufficient_stock" for o in refused_singles)
    bulk_codes = {r.error.code for results in outcomes[:4] for r in results if r.error}
    assert bulk_codes <= {"insufficient_stock"}
    stored = list(Order.objects.all())
    assert len(stored) == 11  # 100 // 9
    assert reserved("SKU-A") == 99 and reserved("SKU-B") == 11
    for order in stored:
        assert sorted(Reservation.objects.filter(order_id=order.pk).values_list("quantity", flat=True)) == [1, 4, 5]
    assert OrderStatusChange.objects.count() == 11 and Event.objects.count() == 11
