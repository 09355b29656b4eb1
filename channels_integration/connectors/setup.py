"""Channel set-up: the channel and, once it can be called, the endpoint that feeds it stock."""

from django.db import transaction

from channels_integration.connectors.stock import stock_endpoint_ensure
from channels_integration.models import Channel
from channels_integration.services import channel_create


def channel_set_up(**fields) -> Channel:
    """channel_create's arguments; the channel and its stock endpoint are created together or not at all."""
    with transaction.atomic():
        channel = channel_create(**fields)
        stock_endpoint_ensure(channel=channel)
    return channel
