"""Order ingest: idempotent on (channel, external_id), all or nothing, stock reserved in the same transaction."""

import hashlib
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from compliance.screening import compliance_screen
from inventory.codes import sku_code_problem
from inventory.selectors import sku_refusals
from inventory.services import InsufficientStock, LineRequest, UnknownSku, stock_reserve
from orders.actors import Actor
from orders.errors import ExternalIdConflict, InsufficientStockError, InvalidOrder, UnknownSkuError
from orders.fsm import Status, TransitionInput
from orders.models import Order, OrderLine, OrderStatusChange
from orders.money import CURRENCY_EXPONENTS, fits_currency, quantize
from orders.services.common import event_spec, status_change_row
from ordersync.api import ApiError
from sync.services import EventSpec, event_publish_many

MONEY_FIELDS = ("shipping_total", "tax_total", "discount_total")
# Amounts are stored as numeric(14, 3): anything from 10^11 up would overflow the column.
MAX_AMOUNT = Decimal(10) ** 11
ZERO_PRICE_HOLD = "zero-price order: held for review (this channel does not allow zero-price orders)"

logger = logging.getLogger(__name__)


@dataclass
class IngestResult:
    order: Order
    created: bool
    # The lines just written, so the answer is rendered without reading them back; None for a replay.
    lines: list[OrderLine] | None = None


# What an omitted field is stored as. Sending the value or leaving the field out makes the same order.
CONSTANT_DEFAULTS = {"customer_name": "", "customer_email": "", "customer_phone": "", "language": "en",
                     "shipping_address": {}, "billing_address": {}}


def _canonical_money(value) -> str:
    """"10.5", "10.50" and "10.500" are one amount, in any currency: normalised, never quantised."""
    return format(Decimal(value).normalize(), "f") if value is not None else "0"


def order_body_hash(data: dict) -> str:
    """Hash of the order as the client sent it, canonicalised: key order, whitespace, "10.5" vs "10.50" and an
    optional field left out vs sent with its default do not make a different order.

    Defaults that depend on when or where the body arrives (placed_at = now, currency = the channel's) are
    hashed only when sent, so an identical retry always hashes the same. Derived values (subtotal, total: a
    sent total must equal the computed one) are not hashed at all.
    """
    canonical = {
        "external_id": data["external_id"],
        **{key: data.get(key) or default for key, default in CONSTANT_DEFAULTS.items()},
        **{key: _canonical_money(data.get(key)) for key in MONEY_FIELDS},
        "lines": [
            {"sku": line["sku"], "name": line.get("name") or line["sku"], "quantity": line["quantity"],
             "unit_price": _canonical_money(line["unit_price"])}
            for line in data["lines"]
        ],
    }
    if data.get("currency") is not None:
        canonical["currency"] = data["currency"]
    if data.get("placed_at") is not None:
        canonical["placed_at"] = data["placed_at"].astimezone(UTC).isoformat()
    if data.get("age_verified"):
        canonical["age_verified"] = True
    return hashlib.sha256(json.dumps(canonical, sort_keys=True, default=str).encode()).hexdigest()


def _decimal(value, field: str) -> Decimal:
    try:
        return Decimal(value if value is not None else 0)
    except (ArithmeticError, TypeError, ValueError):
        raise InvalidOrder(f"{field}: {str(value)[:40]!r} is not a decimal amount.", extra={"field": field}) from None


def order_data_clean(data: dict, *, channel, check_skus: bool = True) -> dict:
    """Validates what every caller (API, channel adapters) must get right, hashes the body as sent (before any
    default is filled in), then fills the defaults (currency: the channel's; placed_at: now) and computes totals.

    `check_skus=False` keeps a channel's own SKU text (empty, or not our pattern) for an order stored on hold: it
    reserves nothing, and lifting the hold checks the SKUs again."""
    lines = data.get("lines") or []
    if not lines:
        raise InvalidOrder("lines: an order needs at least one line.", extra={"field": "lines"})
    cur = data.get("currency") or channel.currency
    if cur not in CURRENCY_EXPONENTS:
        raise InvalidOrder(f"currency: unknown currency {cur!r}.", extra={"field": "currency"})
    clean = {**data, "currency": cur, "placed_at": data.get("placed_at") or timezone.now(),
             **{k: _decimal(data.get(k), k) for k in MONEY_FIELDS}}
    for key in MONEY_FIELDS:
        if clean[key] < 0 or not fits_currency(clean[key], cur):
            raise InvalidOrder(f"{key}: must be >= 0 with at most {CURRENCY_EXPONENTS[cur]} decimals for {cur}.",
                               extra={"field": key})
    prices = []
    for i, line in enumerate(lines):
        problem = sku_code_problem(line.get("sku")) if check_skus else ""
        if problem:
            raise InvalidOrder(f"lines[{i}].sku: {problem}", extra={"field": f"lines[{i}].sku"})
        quantity = line.get("quantity")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
            raise InvalidOrder(f"lines[{i}].quantity: must be a positive integer.", extra={"field": f"lines[{i}]"})
        price = _decimal(line.get("unit_price"), f"lines[{i}].unit_price")
        if price < 0 or not fits_currency(price, cur):
            raise InvalidOrder(
                f"lines[{i}].unit_price: {price} has more decimals than {cur} allows ({CURRENCY_EXPONENTS[cur]}).",
                extra={"field": f"lines[{i}].unit_price"},
            )
        prices.append(price)
    subtotal = sum((price * line["quantity"] for price, line in zip(prices, lines, strict=True)), Decimal(0))
    total = subtotal + clean["shipping_total"] + clean["tax_total"] - clean["discount_total"]
    if max(subtotal, total, *(clean[k] for k in MONEY_FIELDS)) >= MAX_AMOUNT:
        raise InvalidOrder(f"lines: the order amounts to more than this API accepts ({MAX_AMOUNT:,}).",
                           extra={"field": "lines"})
    if total < 0:
        raise InvalidOrder("discount_total: the discount exceeds the order value.", extra={"field": "discount_total"})
    if data.get("total") is not None and _decimal(data["total"], "total") != total:
        raise InvalidOrder(f"total: {data['total']} does not equal the computed total {total}.",
                           extra={"field": "total", "computed_total": str(quantize(total, cur))})
    clean.update(total=total, subtotal=subtotal, body_hash=order_body_hash(data))
    return clean


def _new_number() -> str:
    return "OS-" + secrets.token_hex(5).upper()


def _existing(channel, external_id: str, body_hash: str) -> IngestResult | None:
    order = Order.objects.select_related("channel").filter(channel=channel, external_id=external_id).first()
    if order is None:
        return None
    if order.body_hash != body_hash:
        raise ExternalIdConflict(
            f"Order {external_id!r} was already received with a different body; send changes as transitions.",
            extra={"order_id": order.pk},
        )
    return IngestResult(order=order, created=False)


def build_order(*, channel, data: dict) -> tuple[Order, list[OrderLine]]:
    """`data` as order_data_clean returns it."""
    order = Order(
        channel=channel,
        external_id=data["external_id"],
        number=_new_number(),
        currency=data["currency"],
        subtotal=data["subtotal"],
        shipping_total=data["shipping_total"],
        tax_total=data["tax_total"],
        discount_total=data["discount_total"],
        total=data["total"],
        customer_name=data.get("customer_name", ""),
        customer_email=data.get("customer_email", ""),
        customer_phone=data.get("customer_phone", ""),
        language=data.get("language") or "en",
        shipping_address=data.get("shipping_address") or {},
        billing_address=data.get("billing_address") or {},
        age_verified=bool(data.get("age_verified")),
        placed_at=data["placed_at"],
        body_hash=data["body_hash"],
    )
    lines = [
        OrderLine(
            position=i + 1,
            sku=line["sku"],
            name=line.get("name") or line["sku"],
            quantity=line["quantity"],
            unit_price=Decimal(line["unit_price"]),
            line_total=Decimal(line["unit_price"]) * line["quantity"],
        )
        for i, line in enumerate(data["lines"])
    ]
    return order, lines


def reservation_expiry(channel, *, now: datetime | None = None) -> datetime | None:
    """When a new unpaid order's reservation runs out: the channel's TTL, else the default setting (0: never)."""
    ttl = channel.reservation_ttl or settings.ORDERS_DEFAULT_RESERVATION_TTL
    return (now or timezone.now()) + ttl if ttl else None


def needs_price_review(order: Order) -> bool:
    """Zero-price orders would hold stock nobody pays for: held for review unless the channel allows them."""
    return order.total == 0 and not order.channel.allow_zero_price_orders


def reservation_refusal(*, channel, exc: UnknownSku | InsufficientStock) -> ApiError | None:
    """The answer for an order whose stock could not be reserved; None when the channel holds it instead.

    Unknown SKUs and SKUs the channel may not sell get the same answer; only the log tells them apart."""
    if isinstance(exc, UnknownSku):
        logger.info("order refused: %s", exc.operator_note(channel))
        codes = sorted(exc.codes)
        return UnknownSkuError(f"Unknown SKU(s): {', '.join(codes)}.", extra={"skus": codes})
    if channel.insufficient_stock_policy == channel.StockPolicy.REJECT:
        skus = sorted({s["sku"] for s in exc.shortages})
        return InsufficientStockError(
            f"Not enough stock for {', '.join(skus)}; nothing was stored.",
            extra={"skus": skus, "shortages": exc.shortages},
        )
    return None


def _system_hold(*, order: Order, reason: str, payload: dict) -> OrderStatusChange:
    """Puts the stored order on hold (the system decides, not the caller); returns the audit row to write."""
    order.transition_input = TransitionInput(payload={"reason": reason})
    order.hold()
    order.save(update_fields=["status", "held_from", "hold_reason", "updated_at"])
    return status_change_row(order=order, from_status=Status.NEW, transition="hold", actor=Actor.system(),
                             reason=reason, payload=payload)


def hold_for_shortage(*, order: Order, exc: InsufficientStock) -> OrderStatusChange:
    reason = f"insufficient stock: {', '.join(sorted({s['sku'] for s in exc.shortages}))}"
    return _system_hold(order=order, reason=reason, payload={"shortages": exc.shortages})


def hold_for_review(*, order: Order) -> OrderStatusChange:
    """Holds a zero-price order without reserving: releasing the hold reserves its stock (order_transition)."""
    return _system_hold(order=order, reason=ZERO_PRICE_HOLD, payload={"rule": "zero_price"})


def reserve_or_hold(*, order: Order, lines: list[OrderLine], actor: Actor) -> list[OrderStatusChange]:
    """Reserves every line or follows the channel's policy. Returns the extra audit rows (the hold)."""
    if needs_price_review(order):
        refusal = sku_refusals(orders={order.pk: {line.sku for line in lines}}, channel_id=order.channel_id)
        if refusal:
            raise reservation_refusal(channel=order.channel, exc=refusal[order.pk])
        return [hold_for_review(order=order)]
    try:
        # stock_reserve is all or nothing on its own (its own savepoint): no extra savepoint needed here.
        stock_reserve(
            order_id=order.pk,
            lines=[LineRequest(line_id=line.pk, sku_code=line.sku, quantity=line.quantity) for line in lines],
            expires_at=reservation_expiry(order.channel),
            actor=actor.label,
            channel_id=order.channel_id,
        )
    except (UnknownSku, InsufficientStock) as exc:
        refusal = reservation_refusal(channel=order.channel, exc=exc)
        if refusal is not None:
            raise refusal from exc
        return [hold_for_shortage(order=order, exc=exc)]
    return []


def created_events(*, order: Order, lines: list[OrderLine], actor: Actor) -> list[EventSpec]:
    """order.created, and order.on_hold after it when ingest put the order on hold."""
    specs = [event_spec(topic="order.created", order=order, lines=lines, transition="create", actor=actor)]
    if order.status == Status.ON_HOLD:
        specs.append(event_spec(topic="order.on_hold", order=order, lines=lines, transition="hold",
                                actor=Actor.system(), reason=order.hold_reason))
    return specs


def publish_created(*, order: Order, lines: list[OrderLine], actor: Actor) -> None:
    event_publish_many(events=created_events(order=order, lines=lines, actor=actor))


def create_order(*, channel, data: dict, actor: Actor, hold_reason: str = "") -> tuple[Order, list[OrderLine]]:
    """Must run inside the caller's transaction: any error leaves nothing behind."""
    order, lines = build_order(channel=channel, data=data)
    order.save()
    for line in lines:
        line.order = order
    OrderLine.objects.bulk_create(lines)
    changes = [status_change_row(order=order, from_status="", transition="create", actor=actor)]
    if hold_reason:
        changes.append(_system_hold(order=order, reason=hold_reason, payload={"rule": "channel"}))
    else:
        changes += compliance_screen(order=order, lines=lines) or reserve_or_hold(order=order, lines=lines, actor=actor)
    OrderStatusChange.objects.bulk_create(changes)
    publish_created(order=order, lines=lines, actor=actor)
    return order, lines


def order_ingest(*, channel, data: dict, actor: Actor, hold_reason: str = "") -> IngestResult:
    """Creates the order once; the same body again returns it (created=False); a different body is a 409.

    `hold_reason`: the caller (a channel adapter) knows a person must look at the order first — a line without a
    SKU, totals that disagree with the channel's. It is stored on hold with that reason and reserves nothing;
    lifting the hold reserves its stock."""
    data = order_data_clean(data, channel=channel, check_skus=not hold_reason)
    # Insert first, look up only on a unique-constraint clash: new orders (the common case) save a round trip,
    # and a replay racing its original is handled by the same path.
    try:
        with transaction.atomic():
            order, lines = create_order(channel=channel, data=data, actor=actor, hold_reason=hold_reason)
    except IntegrityError:
        # This (channel, external_id) exists, maybe inserted a moment ago by a concurrent request: a replay.
        found = _existing(channel, data["external_id"], data["body_hash"])
        if found is None:
            raise
        return found
    return IngestResult(order=order, created=True, lines=lines)
