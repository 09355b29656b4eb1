"""One adapter module per channel kind, each with the same names: NAME, SIGNATURE_HEADER, the topic sets,
identify(), order_from() and, where the channel has them, refund_from() / deleted_from()."""

from channels_integration.connectors.adapters import shopify, woocommerce
from channels_integration.models import Channel

ADAPTERS = {Channel.Kind.SHOPIFY: shopify, Channel.Kind.WOOCOMMERCE: woocommerce}
