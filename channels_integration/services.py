import hashlib
import re
import secrets
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from channels_integration.models import ApiKey, Channel, SkuMapping
from channels_integration.scopes import ALL_SCOPES, STOCK_SYSTEM_SCOPES

KEY_PREFIX = "osk_"


@dataclass(frozen=True)
class IssuedApiKey:
    api_key: ApiKey
    secret: str


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def split_key(raw: str) -> tuple[str, str] | None:
    """`osk_<prefix>.<secret>` -> (prefix, full key); None when it is not shaped like our key."""
    if not raw.startswith(KEY_PREFIX) or "." not in raw:
        return None
    prefix = raw.split(".", 1)[0]
    return prefix, raw


SHOP_DOMAIN_RE = re.compile(r"^[a-z0-9][a-z0-9.-]*[a-z0-9](:\d+)?$")
CONNECTION_FIELDS = {
    Channel.Kind.SHOPIFY: ("shop_domain",),
    Channel.Kind.WOOCOMMERCE: ("store_url",),
    Channel.Kind.API: (),
    Channel.Kind.STOCK: (),
}


def _validate_connection(channel: Channel) -> None:
    """Each kind takes its own address field; a Shopify channel cannot have a store URL and so on."""
    errors = {}
    allowed = CONNECTION_FIELDS[channel.kind]
    for field in ("shop_domain", "store_url"):
        if getattr(channel, field) and field not in allowed:
            errors[field] = f"only for {'Shopify' if field == 'shop_domain' else 'WooCommerce'} channels"
    domain = channel.shop_domain
    if domain and "://" not in domain and not SHOP_DOMAIN_RE.match(domain):
        errors["shop_domain"] = f"{domain!r} is not a domain such as my-store.myshopify.com"
    if domain and "://" in domain and not domain.startswith(("http://", "https://")):
        errors["shop_domain"] = "a base URL must start with http:// or https://"
    if channel.api_token and channel.kind in (Channel.Kind.API, Channel.Kind.STOCK):
        errors["api_token"] = f"{channel.get_kind_display()} principals call us; they have no API of their own to call"
    if channel.kind == Channel.Kind.WOOCOMMERCE and channel.api_token and ":" not in channel.api_token:
        errors["api_token"] = "WooCommerce needs consumer_key:consumer_secret (both from WooCommerce → REST API)"
    if channel.kind == Channel.Kind.SHOPIFY and not channel.webhook_secret:
        errors["webhook_secret"] = ("Shopify signs webhooks with your app's client secret (or the key shown under "
                                    "Settings → Notifications → Webhooks); give that secret")
    if errors:
        raise ValidationError(errors)


def channel_create(
    *,
    code: str,
    name: str = "",
    kind: str = Channel.Kind.API,
    currency: str = "EUR",
    insufficient_stock_policy: str = Channel.StockPolicy.HOLD,
    reservation_ttl=None,
    webhook_secret: str = "",
    shop_domain: str = "",
    store_url: str = "",
    api_token: str = "",
) -> Channel:
    """A WooCommerce channel without a secret gets a generated one, to paste into WooCommerce's webhook form;
    Shopify's is the app's own client secret and must be given."""
    if kind == Channel.Kind.WOOCOMMERCE and not webhook_secret:
        webhook_secret = secrets.token_urlsafe(32)
    channel = Channel(
        code=code,
        name=name or code,
        kind=kind,
        currency=currency,
        insufficient_stock_policy=insufficient_stock_policy,
        reservation_ttl=reservation_ttl,
        webhook_secret=webhook_secret.strip(),
        shop_domain=shop_domain.strip().lower(),
        store_url=store_url.strip(),
        api_token=api_token.strip(),
    )
    channel.full_clean()
    _validate_connection(channel)
    channel.save()
    return channel


def channel_webhook_secret_set(*, channel: Channel, secret: str = "") -> Channel:
    """Replaces the webhook secret (given, or generated); the old one stops verifying at once."""
    with transaction.atomic():
        channel = Channel.objects.select_for_update().get(pk=channel.pk)
        channel.webhook_secret = secret.strip() or secrets.token_urlsafe(32)
        channel.save(update_fields=["webhook_secret"])
    return channel


def api_key_create(
    *, channel: Channel, scopes: list[str], name: str = "", stock_write_reason: str = ""
) -> IssuedApiKey:
    """Issues a key. A sales channel gets stock-system scopes (inventory:write) only with a `stock_write_reason`,
    which is stored on the key for operators to review; a stock-system principal needs none."""
    unknown = sorted(set(scopes) - set(ALL_SCOPES))
    if unknown or not scopes:
        raise ValidationError(
            {"scopes": f"Unknown or missing scopes {unknown}; choose from {', '.join(ALL_SCOPES)}."}
        )
    stock_write_reason = stock_write_reason.strip()
    writes_stock = sorted(STOCK_SYSTEM_SCOPES & set(scopes))
    if writes_stock and channel.is_sales_channel and not stock_write_reason:
        raise ValidationError({"scopes": (
            f"{channel.code} is a sales channel and {', '.join(writes_stock)} would let it change every channel's "
            "stock. Give that scope to the warehouse/ERP principal (create_channel <code> --kind stock), or record "
            "why this channel needs it (--allow-stock-write '<reason>')."
        )})
    if stock_write_reason and not writes_stock:
        raise ValidationError({"stock_write_reason": "Only a key with inventory:write needs a stock-write reason."})
    prefix = KEY_PREFIX + secrets.token_hex(4)
    secret = f"{prefix}.{secrets.token_urlsafe(32)}"
    api_key = ApiKey(
        channel=channel, name=name, prefix=prefix, secret_hash=hash_secret(secret), scopes=sorted(set(scopes)),
        stock_write_reason=stock_write_reason,
    )
    api_key.full_clean(exclude=["channel"])
    api_key.save()
    return IssuedApiKey(api_key=api_key, secret=secret)


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    with transaction.atomic():
        api_key = ApiKey.objects.select_for_update().get(pk=api_key.pk)
        if api_key.revoked_at is None:
            api_key.revoked_at = timezone.now()
            api_key.save(update_fields=["revoked_at"])
    return api_key


# What each kind's inventory API needs to address an item (connectors.clients set_stock).
SKU_MAPPING_REQUIRED = {
    Channel.Kind.SHOPIFY: ("inventory_item_id", "location_id"),
    Channel.Kind.WOOCOMMERCE: ("product_id",),
}
SKU_MAPPING_IDS = ("product_id", "variant_id", "inventory_item_id", "location_id")


def sku_mapping_validate(*, channel: Channel, ids: dict) -> None:
    """The ids `channel`'s inventory API needs are all there (shared by the service and the admin form)."""
    if channel.kind not in SKU_MAPPING_REQUIRED:
        raise ValidationError({"channel": f"{channel.get_kind_display()} channels read stock from our API; "
                                          "they take no SKU mapping"})
    missing = [name for name in SKU_MAPPING_REQUIRED[channel.kind] if not ids.get(name)]
    if missing:
        raise ValidationError({name: f"required for {channel.get_kind_display()}" for name in missing})


def sku_mapping_upsert(*, channel: Channel, sku_code: str, product_id: int | None = None,
                       variant_id: int | None = None, inventory_item_id: int | None = None,
                       location_id: int | None = None) -> tuple[SkuMapping, bool]:
    """Sets how `channel` knows our SKU; returns (mapping, created)."""
    ids = {"product_id": product_id, "variant_id": variant_id, "inventory_item_id": inventory_item_id,
           "location_id": location_id}
    sku_mapping_validate(channel=channel, ids=ids)
    sku_code = (sku_code or "").strip()
    if not sku_code:
        raise ValidationError({"sku_code": "a SKU code is required"})
    with transaction.atomic():
        mapping, created = SkuMapping.objects.select_for_update().get_or_create(
            channel=channel, sku_code=sku_code, defaults=ids)
        if not created:
            for name, value in ids.items():
                setattr(mapping, name, value)
            mapping.full_clean()
            mapping.save()
    return mapping, created


def sku_mapping_record_push(*, mapping_id: int, available: int, at) -> None:
    SkuMapping.objects.filter(pk=mapping_id).update(last_pushed_available=available, last_pushed_at=at)
