"""Reads shared by the handler, the services and admin."""

import time

from django.db.models import QuerySet

from channels_integration.models import Channel
from notifications.models import ChannelNotificationSettings, Notification

# Every notification reads its channel's rules; they change rarely. A worker keeps them this long, so an edit
# in admin applies within SETTINGS_TTL seconds everywhere (at once in the process that saved it).
SETTINGS_TTL = 10.0
_settings_cache: dict[str, tuple[float, Channel | None, ChannelNotificationSettings | None]] = {}


def channel_settings(*, code: str) -> tuple[Channel | None, ChannelNotificationSettings | None]:
    """The channel and its notification settings (saved or defaults); (None, None) if unknown."""
    now = time.monotonic()
    cached = _settings_cache.get(code)
    if cached is not None and now - cached[0] < SETTINGS_TTL:
        return cached[1], cached[2]
    channel = Channel.objects.select_related("notification_settings").filter(code=code).first()
    rules = None if channel is None else ChannelNotificationSettings.for_channel(channel)
    _settings_cache[code] = (now, channel, rules)
    return channel, rules


def channel_settings_forget(**_signal) -> None:
    """Connected to saves and deletes of channels and their settings (see apps.py)."""
    _settings_cache.clear()


def notifications_for_admin(*, with_bodies: bool) -> QuerySet[Notification]:
    """The log; a list page leaves the rendered bodies (kilobytes each) in the database."""
    queryset = Notification.objects.all()
    return queryset if with_bodies else queryset.defer("body_text", "body_html")
