"""The frozen order payload carried by events: what downstream systems see, fixed at the moment of the change."""

from orders.money import money_str


def order_snapshot(order, lines) -> dict:
    cur = order.currency
    return {
        "id": order.pk,
        "number": order.number,
        "channel": order.channel.code,
        "external_id": order.external_id,
        "status": order.status,
        "currency": cur,
        "subtotal": money_str(order.subtotal, cur),
        "shipping_total": money_str(order.shipping_total, cur),
        "tax_total": money_str(order.tax_total, cur),
        "discount_total": money_str(order.discount_total, cur),
        "total": money_str(order.total, cur),
        "customer": {"name": order.customer_name, "email": order.customer_email, "phone": order.customer_phone},
        "language": order.language,
        "shipping_address": order.shipping_address,
        "billing_address": order.billing_address,
        "placed_at": order.placed_at.isoformat(),
        "payment_reference": order.payment_reference,
        "tracking_number": order.tracking_number,
        "carrier": order.carrier,
        "hold_reason": order.hold_reason,
        "cancel_reason": order.cancel_reason,
        "lines": [
            {
                "id": line.pk,
                "sku": line.sku,
                "name": line.name,
                "quantity": line.quantity,
                "unit_price": money_str(line.unit_price, cur),
                "line_total": money_str(line.line_total, cur),
            }
            for line in lines
        ],
    }
