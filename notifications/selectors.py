"""Reads shared by the handler, the services and admin."""

from django.db.models import QuerySet

from channels_integration.models import Channel
from notifications.models import ChannelNotificationSettings, Notification


def channel_settings(*, code: str) -> tuple[Channel | None, ChannelNotificationSettings | None]:
    """The channel and its notification settings (saved or defaults), in one query; (None, None) if unknown."""
    channel = Channel.objects.select_related("notification_settings").filter(code=code).first()
    if channel is None:
        return None, None
    return channel, ChannelNotificationSettings.for_channel(channel)


def notifications_for_admin(*, with_bodies: bool) -> QuerySet[Notification]:
    """The log; a list page leaves the rendered bodies (kilobytes each) in the database."""
    queryset = Notification.objects.all()
    return queryset if with_bodies else queryset.defer("body_text", "body_html")
