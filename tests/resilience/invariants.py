"""The one invariant checker every fault test ends with: whatever was injected, the data must still be right.

    report = check_invariants(receivers=[http_server])          # raises AssertionError listing every violation
    check_invariants(receivers=[http_server], settled={"dead"})  # a test that expects some deliveries to die

What it checks (each derived from the models and the FSM, not restated):
- stock conservation, per stock level: on_hand = receipts - commits +/- adjustments (the ledger's kinds, and the
  sum of every movement's on_hand_delta), reserved = the sum of its active reservations = the sum of the ledger's
  reserved_delta, 0 <= reserved <= on_hand; a channel allocation's `reserved` = its active reservations; no active
  reservation belongs to an order that no longer holds stock;
- every order's status history is a path through orders.fsm's transition table, starting at creation and ending
  at the order's current status;
- every committed event has a delivery for every endpoint that subscribed to it when it was published, each
  delivery ended (none pending or in flight, every lease gone), and each URL endpoint's receiver — deduplicating
  on `webhook-id` — saw each event exactly once, nothing else, and each stream's events in sequence order;
- every inbound channel message ended processed, ignored or failed, the last two with a reason.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.db import close_old_connections
from django.db.models import Sum

from channels_integration.models import InboundMessage
from inventory.models import ChannelAllocation, Reservation, StockLevel, StockMovement
from orders.fsm import Status, transition_table
from orders.models import Order, OrderStatusChange
from orders.services.expiry import RELEASE_EXPIRED
from sync.models import Delivery, Endpoint, Event

Kind = StockMovement.Kind
# Audit rows that record something other than a status change (from = to); everything else must be an FSM edge.
NON_TRANSITION_ROWS = {RELEASE_EXPIRED}
CREATE = "create"
# The statuses in which an order's stock is gone (shipped) or given back: it may hold no active reservation.
HOLDS_NO_STOCK = {Status.SHIPPED, Status.DELIVERED, Status.RETURNED, Status.CANCELLED, Status.REFUNDED}
PARKED = "parked"  # `settled` value: pending deliveries of a disabled endpoint are expected
ENDED_INBOUND = {InboundMessage.State.PROCESSED, InboundMessage.State.IGNORED, InboundMessage.State.FAILED}


@dataclass
class Report:
    violations: list[str] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)

    def fail(self, message: str) -> None:
        self.violations.append(message)

    def __str__(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in sorted(self.counts.items()))


def check_stock(report: Report) -> None:
    ledger = defaultdict(Counter)
    for row in StockMovement.objects.values("stock_level_id", "kind").annotate(
            on_hand=Sum("on_hand_delta"), reserved=Sum("reserved_delta"), quantity=Sum("quantity")):
        ledger[row["stock_level_id"]][row["kind"]] = row["quantity"]
        ledger[row["stock_level_id"]]["on_hand_delta"] += row["on_hand"]
        ledger[row["stock_level_id"]]["reserved_delta"] += row["reserved"]
    active = dict(Reservation.objects.filter(state=Reservation.State.ACTIVE).values("stock_level_id")
                  .annotate(n=Sum("quantity")).values_list("stock_level_id", "n"))
    for level in StockLevel.objects.all():
        book = ledger[level.pk]
        # Adjustments carry their signed delta in `quantity`; commits are positive units leaving.
        expected = book[Kind.RECEIPT] - book[Kind.COMMIT] + book[Kind.ADJUSTMENT]
        if not (level.on_hand == expected == book["on_hand_delta"]):
            report.fail(f"stock level {level}: on_hand {level.on_hand}, receipts - commits +/- adjustments "
                        f"{expected}, ledger sum {book['on_hand_delta']}")
        if not (level.reserved == active.get(level.pk, 0) == book["reserved_delta"]):
            report.fail(f"stock level {level}: reserved {level.reserved}, active reservations "
                        f"{active.get(level.pk, 0)}, ledger sum {book['reserved_delta']}")
        if not 0 <= level.reserved <= level.on_hand:
            report.fail(f"stock level {level}: reserved {level.reserved} outside 0..on_hand {level.on_hand}")
        report.counts["stock_levels"] += 1
    per_allocation = dict(Reservation.objects.filter(state=Reservation.State.ACTIVE, allocation_id__isnull=False)
                          .values("allocation_id").annotate(n=Sum("quantity")).values_list("allocation_id", "n"))
    for allocation in ChannelAllocation.objects.all():
        if allocation.reserved != per_allocation.get(allocation.pk, 0):
            report.fail(f"allocation {allocation}: reserved {allocation.reserved}, active reservations "
                        f"{per_allocation.get(allocation.pk, 0)}")
    stale = (Reservation.objects.filter(state=Reservation.State.ACTIVE)
             .filter(order_id__in=Order.objects.filter(status__in=HOLDS_NO_STOCK).values("pk"))
             .values_list("order_id", flat=True).distinct())
    for order_id in stale[:20]:
        report.fail(f"order {order_id} holds an active reservation in a status that holds no stock")


def check_order_histories(report: Report) -> None:
    edges = {(row["source"], row["name"], row["target"]) for row in transition_table(Order)}
    histories = defaultdict(list)
    for change in OrderStatusChange.objects.order_by("order_id", "id").values_list(
            "order_id", "from_status", "transition", "to_status"):
        histories[change[0]].append(change[1:])
    for order_id, status in Order.objects.values_list("pk", "status"):
        path = histories.get(order_id, [])
        report.counts["orders"] += 1
        report.counts[f"orders_{status}"] += 1
        if not path or path[0] != ("", CREATE, Status.NEW):
            report.fail(f"order {order_id}: history does not start with its creation: {path[:1]}")
            continue
        current = Status.NEW
        for source, name, target in path[1:]:
            legal = (source == target and name in NON_TRANSITION_ROWS) or (source, name, target) in edges
            if source != current or not legal:
                report.fail(f"order {order_id}: {source} -{name}-> {target} after {current} is not an FSM step; "
                            f"history {path}")
                break
            current = target
        else:
            if current != status:
                report.fail(f"order {order_id}: history ends at {current} but the order is {status}")


def _receiver_views(receivers) -> dict[tuple[int, str], list]:
    """(port, path) -> the requests a recording server got there."""
    views = defaultdict(list)
    for server in receivers:
        for request in server.requests:
            views[(server.port, request.path)].append(request)
    return views


def check_deliveries(report: Report, *, receivers, settled: set[str], proxied: dict[int, int]) -> None:
    endpoints = {e.pk: e for e in Endpoint.objects.all()}
    open_states = {Delivery.State.PENDING, Delivery.State.IN_FLIGHT}
    by_event = defaultdict(dict)
    for delivery in Delivery.objects.values("pk", "event_id", "endpoint_id", "state", "lease_expires_at"):
        by_event[delivery["event_id"]][delivery["endpoint_id"]] = delivery
        report.counts[f"deliveries_{delivery['state']}"] += 1
        parked = (delivery["state"] == Delivery.State.PENDING and not endpoints[delivery["endpoint_id"]].active
                  and PARKED in settled)  # waits for its disabled endpoint to be re-enabled, as designed
        if not parked and (delivery["state"] in open_states
                           or delivery["state"] not in ({Delivery.State.SUCCEEDED} | settled)):
            report.fail(f"delivery {delivery['pk']} ended {delivery['state']}")
        if delivery["state"] != Delivery.State.IN_FLIGHT and delivery["lease_expires_at"] is not None:
            report.fail(f"delivery {delivery['pk']} ({delivery['state']}) still holds a lease")
    events = {str(e.pk): e for e in Event.objects.all()}
    report.counts["events"] = len(events)
    expected_ids = defaultdict(set)  # endpoint id -> event ids it must have received
    for event in events.values():
        for endpoint in endpoints.values():
            if not endpoint.subscribes_to(event.topic) or endpoint.created_at > event.created_at:
                continue
            delivery = by_event[event.pk].get(endpoint.pk)
            if delivery is None:
                # An endpoint disabled (e.g. by a 410) before the event was published gets no delivery.
                if endpoint.disabled_at is None or endpoint.disabled_at > event.created_at:
                    report.fail(f"event {event} has no delivery to {endpoint}")
                continue
            if delivery["state"] == Delivery.State.SUCCEEDED and endpoint.url:
                expected_ids[endpoint.pk].add(str(event.pk))
    views = _receiver_views(receivers)
    for endpoint_id, wanted in expected_ids.items():
        url = urlsplit(endpoints[endpoint_id].url)
        requests = views.get((proxied.get(url.port, url.port), url.path))
        if requests is None:
            report.fail(f"no receiver given for {endpoints[endpoint_id]} ({url.geturl()})")
            continue
        _check_receiver(report, endpoints[endpoint_id], requests, wanted, events)


def _check_receiver(report: Report, endpoint, requests, wanted: set[str], events: dict) -> None:
    """Deduplicating on webhook-id, as the receiver is told to: the effect is applied when a complete request first
    arrives (whatever it was answered), so each effect once and each stream in order."""
    first_seen, seen = [], set()
    for request in requests:
        if request.complete and request.webhook_id not in seen:
            seen.add(request.webhook_id)
            first_seen.append(request.webhook_id)
    report.counts["received_effects"] += len(first_seen)
    report.counts["received_requests"] += len(requests)
    missing, extra = wanted - seen, seen - set(events)
    if missing:
        report.fail(f"{endpoint}: {len(missing)} succeeded deliveries never accepted by the receiver, "
                    f"e.g. {sorted(missing)[:3]}")
    if extra:
        report.fail(f"{endpoint}: received webhook ids that are no event: {sorted(extra)[:3]}")
    last = {}
    for webhook_id in first_seen:
        event = events.get(webhook_id)
        if event is None:
            continue
        if last.get(event.stream, 0) >= event.sequence:
            report.fail(f"{endpoint}: stream {event.stream} effect #{event.sequence} after #{last[event.stream]}")
        last[event.stream] = event.sequence


def check_inbound(report: Report) -> None:
    for message in InboundMessage.objects.only("pk", "state", "error", "topic"):
        report.counts[f"inbound_{message.state}"] += 1
        if message.state not in ENDED_INBOUND:
            report.fail(f"inbound message {message.pk} ({message.topic}) ended {message.state}")
        elif message.state != InboundMessage.State.PROCESSED and not message.error.strip():
            report.fail(f"inbound message {message.pk} is {message.state} without a reason")


def check_invariants(*, receivers=(), settled: set[str] | frozenset = frozenset(),
                     proxied: dict[int, int] | None = None) -> Report:
    """Runs every check; `settled`: delivery states besides succeeded a test expects (dead, cancelled, or PARKED:
    pending on an endpoint that was disabled, e.g. by a 410); `proxied`: proxy port -> the receiver's port behind it."""
    close_old_connections()
    report = Report()
    check_stock(report)
    check_order_histories(report)
    check_deliveries(report, receivers=receivers, settled=set(settled), proxied=proxied or {})
    check_inbound(report)
    assert not report.violations, f"{len(report.violations)} invariant violations:\n" + "\n".join(
        report.violations[:40])
    print(f"invariants hold: {report}")
    return report


def settled_now() -> bool:
    """Nothing left to do: no delivery pending or in flight, no inbound message waiting."""
    open_ = Delivery.objects.filter(state__in=[Delivery.State.PENDING, Delivery.State.IN_FLIGHT], endpoint__active=True)
    return not (open_.exists() or Delivery.objects.filter(state=Delivery.State.IN_FLIGHT).exists()
                or InboundMessage.objects.exclude(state__in=ENDED_INBOUND).exists())
