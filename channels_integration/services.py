import hashlib
import secrets
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from channels_integration.models import ApiKey, Channel
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


def channel_create(
    *,
    code: str,
    name: str = "",
    kind: str = Channel.Kind.API,
    currency: str = "EUR",
    insufficient_stock_policy: str = Channel.StockPolicy.HOLD,
    reservation_ttl=None,
) -> Channel:
    channel = Channel(
        code=code,
        name=name or code,
        kind=kind,
        currency=currency,
        insufficient_stock_policy=insufficient_stock_policy,
        reservation_ttl=reservation_ttl,
    )
    channel.full_clean()
    channel.save()
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
