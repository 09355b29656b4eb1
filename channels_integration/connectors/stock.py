"""The stock feed out to channels: a sync-engine handler endpoint per connected channel.

Inventory publishes a coalesced `stock.changed` per SKU; each channel's endpoint delivers it through this handler,
so retries, per-SKU ordering, the breaker and the attempt log are the sync engine's. The handler pushes the
available-to-sell it reads *now* (after the channel's buffer), not the number in the event: a later push can only
carry a newer value. Two more rules keep a burst down to a few pushes: a delivery whose SKU has a newer event
skips (that event's delivery follows and pushes the then-current value), and pushes of one SKU to one channel
are at least CHANNELS_STOCK_PUSH_MIN_INTERVAL apart (the delivery waits out the rest of the interval).
"""

import time

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from channels_integration.connectors.clients import ChannelApiError, client_for, retry_after_seconds
from channels_integration.models import Channel, SkuMapping
from channels_integration.services import sku_mapping_record_push
from inventory.selectors import available_to_sell
from sync.handlers import HandlerResult, handler
from sync.models import Endpoint, Event
from sync.services import endpoint_create

STOCK_PUSH = "channels.stock_push"
# The channel will not accept this request however often it is sent: a wrong id in the SKU mapping.
PERMANENT_STATUSES = {400, 404, 422}


def stock_endpoint_name(channel: Channel) -> str:
    return f"channel-{channel.code}-stock"


def stock_endpoint_ensure(*, channel: Channel) -> Endpoint | None:
    """Creates the channel's stock-push endpoint once it has API credentials; None while it has none."""
    if not channel.has_api_credentials:
        return None
    existing = Endpoint.objects.filter(name=stock_endpoint_name(channel)).first()
    if existing is not None:
        return existing
    rate = settings.CHANNELS_SHOPIFY_PUSH_RATE if channel.kind == Channel.Kind.SHOPIFY else None
    with transaction.atomic():
        return endpoint_create(
            name=stock_endpoint_name(channel), kind=Endpoint.Kind.CHANNEL, topics=["stock.changed"],
            handler=STOCK_PUSH, handler_options={"channel": channel.code}, rate_limit=rate,
            connect_timeout=settings.CHANNELS_HTTP_CONNECT_TIMEOUT, read_timeout=settings.CHANNELS_HTTP_READ_TIMEOUT,
        ).endpoint


def _wait_for_interval(mapping: SkuMapping) -> None:
    if mapping.last_pushed_at is None:
        return
    elapsed = (timezone.now() - mapping.last_pushed_at).total_seconds()
    remaining = settings.CHANNELS_STOCK_PUSH_MIN_INTERVAL - elapsed
    if remaining > 0:
        time.sleep(remaining)


def _superseded(event: Event) -> bool:
    return Event.objects.filter(stream=event.stream, sequence__gt=event.sequence).exists()


@handler(STOCK_PUSH)
def stock_push(*, event, endpoint, delivery, attempt) -> HandlerResult:
    code = endpoint.handler_options.get("channel")
    channel = Channel.objects.filter(code=code).first()
    if channel is None:
        return HandlerResult(ok=False, permanent=True, detail=f"endpoint {endpoint.name} names channel {code!r}, "
                                                              "which does not exist")
    sku = (event.payload or {}).get("sku")
    mapping = SkuMapping.objects.filter(channel=channel, sku_code=sku).first()
    if mapping is None:
        return HandlerResult(ok=True, detail=f"{sku} has no SKU mapping for {code}; nothing pushed")
    _wait_for_interval(mapping)
    if _superseded(event):
        return HandlerResult(ok=True, detail=f"{sku}: a newer stock change follows; it pushes the current value")
    available = available_to_sell(sku_codes=[sku], channel=channel).get(sku)
    if available is None:
        return HandlerResult(ok=True, detail=f"{sku} is untracked or unknown; nothing pushed")
    try:
        with client_for(channel) as client:
            response = client.set_stock(mapping, available)
    except ChannelApiError as exc:
        return HandlerResult(ok=False, detail=str(exc))
    if 200 <= response.status_code < 300:
        sku_mapping_record_push(mapping_id=mapping.pk, available=available, at=timezone.now())
        return HandlerResult(ok=True, status_code=response.status_code,
                             detail=f"{sku}: available set to {available} in {channel.get_kind_display()}")
    return HandlerResult(
        ok=False, status_code=response.status_code, retry_after=retry_after_seconds(response),
        permanent=response.status_code in PERMANENT_STATUSES,
        detail=f"{channel.get_kind_display()} answered {response.status_code}: {response.text[:500]}",
    )
