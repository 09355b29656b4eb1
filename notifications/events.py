"""What customers hear about, declared once: the order topics that notify, their templates and subjects, the
languages we write in, and the tracking pages of common carriers. Models, rendering, admin and docs read this."""

from dataclasses import dataclass

from django.conf.locale import LANG_INFO
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class NotifyingEvent:
    topic: str
    template: str  # notifications/email/<template>.html and .txt
    subject: str  # translatable; formatted with the order number
    label: str  # shown in admin
    tracking: bool = False  # the message carries the tracking link


EVENTS = {
    e.topic: e
    for e in (
        NotifyingEvent("order.created", "order_created", _("We have received your order %(number)s"),
                       _("Order confirmed")),
        NotifyingEvent("order.paid", "order_paid", _("Payment received for order %(number)s"), _("Order paid")),
        NotifyingEvent("order.shipped", "order_shipped", _("Your order %(number)s is on its way"),
                       _("Order shipped"), tracking=True),
        NotifyingEvent("order.delivered", "order_delivered", _("Your order %(number)s has been delivered"),
                       _("Order delivered"), tracking=True),
        NotifyingEvent("order.cancelled", "order_cancelled", _("Your order %(number)s has been cancelled"),
                       _("Order cancelled")),
        NotifyingEvent("order.refunded", "order_refunded", _("Your refund for order %(number)s"),
                       _("Order refunded")),
    )
}
TOPICS = list(EVENTS)
# An operator's resend goes through the outbox too (retried, logged), on its own stream, under this topic.
RESEND_TOPIC = "notification.resend"
# The customer-email endpoint of the sync engine: its handler and the topics it subscribes to.
EMAIL_HANDLER = "notifications.email"
EMAIL_ENDPOINT = "customer-email"
EMAIL_ENDPOINT_TOPICS = [*TOPICS, RESEND_TOPIC]

# Languages we have templates for (Django codes); the first is the last fallback.
LANGUAGES = {"en": "English", "zh-hans": "简体中文 (Simplified Chinese)"}
FALLBACK_LANGUAGE = "en"

# Channels of these kinds email their customers themselves (Shopify's order emails); without settings of their
# own, their notifications are recorded as suppressed rather than sent twice.
CHANNEL_KINDS_THAT_NOTIFY = {"shopify"}

# {tracking_number} is replaced (URL-quoted). Per-channel settings add or override carriers (matched without case).
DEFAULT_TRACKING_URLS = {
    "dhl": "https://www.dhl.com/global-en/home/tracking/tracking-parcel.html?submit=1&tracking-id={tracking_number}",
    "ups": "https://www.ups.com/track?tracknum={tracking_number}",
    "fedex": "https://www.fedex.com/fedextrack/?trknbr={tracking_number}",
    "postnl": "https://jouw.postnl.nl/track-and-trace/{tracking_number}",
}


def supported_language(code: str | None) -> str | None:
    """Our language for a customer's code ("zh-CN" → "zh-hans", "en-GB" → "en"), or None if we have none."""
    code = (code or "").strip().lower().replace("_", "-")
    if not code:
        return None
    candidates = [code, *LANG_INFO.get(code, {}).get("fallback", [])]
    generic = code.split("-", 1)[0]
    candidates += [generic, *LANG_INFO.get(generic, {}).get("fallback", [])]
    if code == "zh" or code.startswith("zh-hans"):
        candidates.append("zh-hans")  # CLDR's default script for bare "zh"; "zh-Hans-CN" carries a region
    return next((c for c in candidates if c in LANGUAGES), None)
