"""A channel's order made ours: created through the order services (on hold when a person must look at it), then
moved forward to where the channel says it stands. Never backward: an order shipped here is not un-shipped because
a message says "paid", and a channel that contradicts us (cancelled there, shipped here) is reported, not obeyed.
"""

from django.db.models import Q

from channels_integration.connectors.payload import ChannelLine, ChannelOrder, ChannelState
from channels_integration.models import Channel, SkuMapping
from inventory.codes import sku_code_problem
from inventory.models import Sku
from orders.actors import Actor
from orders.errors import UnknownSkuError
from orders.fsm import CANCELLABLE, REFUNDABLE, Status
from orders.models import Order
from orders.money import money_str
from orders.services import order_ingest, order_transition
from orders.services.ingest import order_data_clean


class Waiting(Exception):
    """The order cannot follow the channel yet (it is on hold); the message waits and is applied later."""


class ChannelConflict(Exception):
    """The channel says something our order's history rules out; an operator decides."""


def kind_name(channel: Channel) -> str:
    return channel.get_kind_display()


def _mapped_skus(channel: Channel, lines: list[ChannelLine]) -> tuple[dict, dict]:
    """SKU mappings for lines the channel sent without a SKU: by variant, and by product for simple products."""
    variants = {line.variant_id for line in lines if not line.sku and line.variant_id}
    products = {line.product_id for line in lines if not line.sku and line.product_id}
    if not variants and not products:
        return {}, {}
    rows = SkuMapping.objects.filter(channel=channel).filter(
        Q(variant_id__in=variants) | Q(product_id__in=products, variant_id=None)
    ).values_list("sku_code", "product_id", "variant_id")
    by_variant = {variant: code for code, _product, variant in rows if variant}
    by_product = {product: code for code, product, variant in rows if not variant}
    return by_variant, by_product


def resolve_skus(*, channel: Channel, lines: list[ChannelLine]) -> tuple[list[str], list[str]]:
    """The SKU of each line and the reasons to hold the order (lines without a SKU, SKUs inventory lacks)."""
    by_variant, by_product = _mapped_skus(channel, lines)
    skus = [line.sku or by_variant.get(line.variant_id) or by_product.get(line.product_id) or "" for line in lines]
    invalid = sorted({s for s in skus if s and sku_code_problem(s)})
    known = set(Sku.objects.filter(code__in={s for s in skus if s} - set(invalid)).values_list("code", flat=True))
    reasons = []
    if invalid:
        reasons.append(f"SKU(s) {', '.join(map(repr, invalid))} break the SKU code pattern: correct them in "
                       f"{kind_name(channel)} or map the products under SKU mappings")
    unknown = sorted({s for s in skus if s and s not in known and s not in invalid})
    if unknown:
        reasons.append(f"unknown SKU(s) {', '.join(unknown)}: add them in inventory, then release the hold")
    for position, (line, sku) in enumerate(zip(lines, skus, strict=True), start=1):
        if not sku:
            product = line.variant_id or line.product_id
            reasons.append(
                f"line {position} ({line.name or 'no name'}) has no SKU in {kind_name(channel)}: give the product "
                f"a SKU there" + (f" or map product {product} under SKU mappings" if product else "")
            )
    return skus, reasons


def canonical_data(co: ChannelOrder, skus: list[str]) -> dict:
    """The order as order_ingest takes it (the same shape the orders API validates into)."""
    data = {
        "external_id": co.external_id,
        "currency": co.currency,
        "customer_name": co.customer_name,
        "customer_email": co.customer_email,
        "customer_phone": co.customer_phone,
        "shipping_address": co.shipping_address,
        "billing_address": co.billing_address,
        "placed_at": co.placed_at,
        "shipping_total": co.shipping_total,
        "tax_total": co.tax_total,
        "discount_total": co.discount_total,
        "lines": [{"sku": sku, "name": line.name or sku, "quantity": line.quantity, "unit_price": line.unit_price}
                  for line, sku in zip(co.lines, skus, strict=True)],
    }
    if co.language:
        data["language"] = co.language
    return data


def order_create(*, channel: Channel, co: ChannelOrder, actor: Actor) -> Order:
    """Every line with a valid SKU is the common case: straight to order_ingest, whose reservation finds unknown
    SKUs anyway (then the order is held naming them). Lines without one are resolved through the SKU mappings
    first; whatever a person must look at stores the order on hold with the reasons, reserving nothing."""
    if all(line.sku and not sku_code_problem(line.sku) for line in co.lines):
        skus, reasons = [line.sku for line in co.lines], []
    else:
        skus, reasons = resolve_skus(channel=channel, lines=co.lines)
    data = canonical_data(co, skus)
    total = order_data_clean(data, channel=channel, check_skus=False)["total"]
    if co.channel_total is not None and total != co.channel_total:
        reasons.append(
            f"totals differ: {kind_name(channel)} says {co.channel_total} {co.currency}, lines + shipping + tax - "
            f"discounts make {money_str(total, co.currency)}; check the order in {kind_name(channel)}"
        )
    if not reasons:
        try:
            return order_ingest(channel=channel, data=data, actor=actor).order
        except UnknownSkuError as exc:  # nothing was written: ingest rolled back its own savepoint
            _skus, reasons = resolve_skus(channel=channel, lines=co.lines)
            # Known to inventory yet refused: restricted to other channels.
            reasons = reasons or [f"SKU(s) {', '.join(exc.extra['skus'])} may not be sold on {kind_name(channel)}: "
                                  "allocate them to this channel in inventory, then release the hold"]
    return order_ingest(channel=channel, data=data, actor=actor, hold_reason="; ".join(reasons)).order


def converge_plan(order: Order, state: ChannelState, channel: Channel) -> list[tuple[str, dict]]:
    """The transitions that bring `order` to `state`, forward only; raises Waiting or ChannelConflict."""
    status, kind = order.status, kind_name(channel)
    if state.refunded:
        if status in REFUNDABLE:
            return [("refund", {"reason": state.reason or f"refunded in {kind}"})]
        if status in (Status.NEW, Status.ON_HOLD):  # never paid here: nothing to refund, the order is off
            return [("cancel", {"reason": state.reason or f"refunded in {kind}"})]
        return []
    if state.cancelled:
        if status in CANCELLABLE:
            return [("cancel", {"reason": state.reason or f"cancelled in {kind}"})]
        if status in (Status.CANCELLED, Status.REFUNDED):
            return []
        raise ChannelConflict(f"{kind} cancelled the order, but it is already {status} here; settle it with the "
                              "customer and refund or return it by hand")
    if status in (Status.CANCELLED, Status.REFUNDED) and (state.paid or state.fulfilled):
        raise ChannelConflict(f"{kind} reports the order {'fulfilled' if state.fulfilled else 'paid'}, but it is "
                              f"{status} here ({order.cancel_reason or 'no reason given'}); check it in {kind}")
    if status == Status.ON_HOLD and (state.fulfilled or (state.paid and order.held_from == Status.NEW)):
        raise Waiting(f"the order is on hold ({order.hold_reason}); {kind} reports it "
                      f"{'fulfilled' if state.fulfilled else 'paid'}, applied once the hold is lifted")
    steps = []
    if state.paid and status == Status.NEW:
        steps.append(("pay", {"amount": str(order.total), "currency": order.currency,
                              "payment_reference": state.payment_reference}))
        status = Status.PAID
    if state.fulfilled and status == Status.NEW:
        raise Waiting(f"{kind} reports the order fulfilled but not paid; applied once it is paid")
    if state.fulfilled and status == Status.PAID:
        steps.append(("start_fulfilment", {}))
        status = Status.FULFILLING
    if state.fulfilled and status == Status.FULFILLING:
        steps.append(("ship", {"tracking_number": state.tracking_number or f"untracked (fulfilled in {kind})",
                               "carrier": state.carrier}))
    return steps


def order_converge(*, order: Order, steps: list[tuple[str, dict]], actor: Actor) -> list[str]:
    """Applies converge_plan's steps through order_transition (guards, stock, audit, events)."""
    for name, payload in steps:
        order = order_transition(order_id=order.pk, name=name, actor=actor, payload=payload)
    return [name for name, _payload in steps]
