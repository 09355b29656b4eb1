"""Demo order history for forecasts: seasonal, noisy, with a promotion spike; seeded and repeatable.

This is the one place outside orders/ that writes orders. It bulk-inserts finished historical orders (placed in
the past, delivered or cancelled, with lines, totals, one audit row each) instead of calling `order_ingest`,
because ingest reserves stock and publishes events: replaying months of history through it would take minutes
and flood every endpoint with deliveries for orders that finished long ago. Nothing here touches stock.
"""

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
from django.db import transaction
from django.utils import timezone

from analytics.models import Promotion
from analytics.services import promotion_create
from channels_integration.models import Channel
from inventory.models import Sku
from orders.fsm import Status
from orders.models import Order, OrderLine, OrderStatusChange
from orders.money import quantize
from orders.services.ingest import order_body_hash

EXTERNAL_PREFIX = "hist-"
ACTOR = "system:seed_history"
# Mean of 1: orders per hour of the day (UTC) — quiet nights, a lunch bump, an evening peak …
_HOURS = np.arange(24)
DAILY = 0.2 + 0.7 * np.exp(-(((_HOURS - 12) / 2.5) ** 2)) + 1.4 * np.exp(-(((_HOURS - 20) / 2.2) ** 2))
DAILY = DAILY / DAILY.mean()
# … and per weekday, Monday first: busier weekends.
WEEKLY = np.array([0.95, 0.9, 0.92, 0.98, 1.05, 1.15, 1.3])
WEEKLY = WEEKLY / WEEKLY.mean()
# Each further channel (by code) sells this fraction of the one before it.
CHANNEL_DECAY = 0.6
CANCELLED_SHARE = 0.06
FALLBACK_CATALOG = (("TSHIRT-BLK-M", "T-shirt black M"), ("HOODIE-GRY-L", "Hoodie grey L"),
                    ("MUG-LOGO", "Mug with logo"), ("CAP-NAVY", "Cap navy"))
CARRIERS = ("DHL", "UPS", "PostNL")
COUNTRIES = ("DE", "NL", "FR", "AT", "BE")
# The demo's promotions: a past flash sale the history shows, and an upcoming weekend sale the forecast shows.
PAST_SALE = "Demo flash sale"
PAST_SALE_UPLIFT = 150
UPCOMING_SALE = "Demo weekend sale"
UPCOMING_SALE_UPLIFT = 60


@dataclass
class SeedResult:
    created: dict[str, int] = field(default_factory=dict)  # orders inserted per channel code
    promotions: list[str] = field(default_factory=list)  # promotions created by this run


def _catalog(currency: str) -> list[tuple[str, str, Decimal]]:
    items = list(Sku.objects.order_by("code").values_list("code", "name")[:8]) or list(FALLBACK_CATALOG)
    # A stable price per SKU code, between 8 and 80 in the channel's currency.
    return [(code, name, quantize(Decimal(8 + zlib.crc32(code.encode()) % 7200 / 100), currency))
            for code, name in items]


def _demo_promotions(*, now: datetime, days: int, result: SeedResult) -> None:
    """Created once by name, placed relative to the first run, so every later run sees the same windows."""
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if days >= 28 and not Promotion.objects.filter(name=PAST_SALE).exists():
        start = today - timedelta(days=min(days // 3, 40)) + timedelta(hours=8)
        promotion_create(name=PAST_SALE, starts_at=start, ends_at=start + timedelta(hours=40),
                         uplift_percent=PAST_SALE_UPLIFT)
        result.promotions.append(PAST_SALE)
    if not Promotion.objects.filter(name=UPCOMING_SALE).exists():
        saturday = today + timedelta(days=(5 - today.weekday()) % 7 or 7)
        promotion_create(name=UPCOMING_SALE, starts_at=saturday + timedelta(hours=8),
                         ends_at=saturday + timedelta(days=1, hours=23), uplift_percent=UPCOMING_SALE_UPLIFT)
        result.promotions.append(UPCOMING_SALE)


def _uplift(hours: np.ndarray, promotions: list[Promotion], channel: Channel) -> np.ndarray:
    factor = np.ones(len(hours))
    for promo in promotions:
        if promo.channel_id in (None, channel.pk):
            start, end = (int(t.timestamp() // 3600) for t in (promo.starts_at, promo.ends_at))
            factor[(hours >= start) & (hours < end)] *= promo.factor
    return factor


def _orders_for_hour(*, channel: Channel, hour: int, count: int, rng: np.random.Generator,
                     catalog: list) -> list[tuple[Order, list[OrderLine]]]:
    placed_base = datetime.fromtimestamp(hour * 3600, tz=UTC)
    built = []
    for i in range(count):
        placed_at = placed_base + timedelta(seconds=int(rng.integers(0, 3600)))
        picks = rng.choice(len(catalog), size=int(rng.integers(1, 4)), replace=False)
        line_data = [{"sku": catalog[p][0], "name": catalog[p][1], "quantity": int(rng.integers(1, 4)),
                      "unit_price": catalog[p][2]} for p in picks]
        subtotal = sum((line["unit_price"] * line["quantity"] for line in line_data), Decimal(0))
        shipping = quantize(Decimal("4.90"), channel.currency) if subtotal < 50 else Decimal(0)
        cancelled = rng.random() < CANCELLED_SHARE
        country = COUNTRIES[int(rng.integers(len(COUNTRIES)))]
        customer = int(rng.integers(1, 5000))
        data = {
            "external_id": f"{EXTERNAL_PREFIX}{placed_base:%Y%m%d%H}-{i:03d}", "currency": channel.currency,
            "customer_name": f"Demo Customer {customer}", "customer_email": f"demo.customer{customer}@example.com",
            "language": "en", "shipping_address": {"name": f"Demo Customer {customer}", "line1": "1 Demo Street",
                                                   "city": "Demo City", "postal_code": "10000", "country": country},
            "placed_at": placed_at, "lines": line_data, "shipping_total": shipping, "tax_total": Decimal(0),
            "discount_total": Decimal(0),
        }
        order = Order(
            channel=channel, external_id=data["external_id"], number=f"HIST-{channel.pk}-{hour}-{i}",
            status=Status.CANCELLED if cancelled else Status.DELIVERED,
            cancel_reason="cancelled by the customer (demo history)" if cancelled else "",
            currency=channel.currency, subtotal=subtotal, shipping_total=shipping, total=subtotal + shipping,
            customer_name=data["customer_name"], customer_email=data["customer_email"],
            shipping_address=data["shipping_address"], billing_address=data["shipping_address"],
            placed_at=placed_at, body_hash=order_body_hash(data),
            payment_reference="" if cancelled else f"demo-pay-{hour}-{i}",
            tracking_number="" if cancelled else f"DEMO{hour}{i:03d}",
            carrier="" if cancelled else CARRIERS[int(rng.integers(len(CARRIERS)))],
        )
        lines = [OrderLine(position=n + 1, sku=line["sku"], name=line["name"], quantity=line["quantity"],
                           unit_price=line["unit_price"], line_total=line["unit_price"] * line["quantity"])
                 for n, line in enumerate(line_data)]
        built.append((order, lines))
    return built


def _insert(built: list[tuple[Order, list[OrderLine]]]) -> None:
    orders = Order.objects.bulk_create([order for order, _ in built], batch_size=1000)
    lines, changes = [], []
    for order, (_, order_lines) in zip(orders, built, strict=True):
        for line in order_lines:
            line.order = order
        lines += order_lines
        changes.append(OrderStatusChange(
            order=order, from_status="", to_status=order.status, transition="import", actor=ACTOR,
            actor_kind=OrderStatusChange.ActorKind.SYSTEM, reason="demo order history (manage.py seed_history)",
        ))
    OrderLine.objects.bulk_create(lines, batch_size=2000)
    OrderStatusChange.objects.bulk_create(changes, batch_size=2000)


def order_history_seed(*, days: int, channels: list[Channel], seed: int = 42, orders_per_hour: float = 5.0,
                       seasonal: bool = True, now: datetime | None = None,
                       progress: Callable[[int], None] = lambda hours: None) -> SeedResult:
    """Fills in the demo orders of the last `days` days up to the current hour, for each channel.

    Each hour's orders depend only on (seed, channel code, hour), so a rerun inserts only hours it has not
    inserted before and the same seed always gives the same history. `orders_per_hour` is the oldest channel's
    mean; `seasonal=False` drops the daily and weekly pattern (the same mean every hour, promotions still
    apply), to show the forecast admitting it finds none. `progress(n)` is told each channel's n hours.
    """
    now = now or timezone.now()
    until = int(now.timestamp() // 3600)
    hours = np.arange(until - days * 24, until)
    result = SeedResult()
    with transaction.atomic():
        _demo_promotions(now=now, days=days, result=result)
    promotions = list(Promotion.objects.all())
    for rank, channel in enumerate(sorted(channels, key=lambda c: c.pk)):
        seen = set(Order.objects.filter(
            channel=channel, external_id__startswith=EXTERNAL_PREFIX,
            placed_at__gte=datetime.fromtimestamp(int(hours[0]) * 3600, tz=UTC),
        ).values_list("external_id", flat=True))
        rate = orders_per_hour * CHANNEL_DECAY ** rank * _uplift(hours, promotions, channel)
        if seasonal:
            rate = rate * DAILY[hours % 24] * WEEKLY[((hours // 24) + 3) % 7]  # 1970-01-01 was a Thursday
        catalog = _catalog(channel.currency)
        built = []
        for hour, mean in zip(hours.tolist(), rate.tolist(), strict=True):
            rng = np.random.default_rng([seed, zlib.crc32(channel.code.encode()), hour])
            built += [(order, lines) for order, lines in _orders_for_hour(
                channel=channel, hour=hour, count=int(rng.poisson(mean)), rng=rng, catalog=catalog,
            ) if order.external_id not in seen]
        with transaction.atomic():
            _insert(built)
        result.created[channel.code] = len(built)
        progress(len(hours))
    return result
