"""Webhook receivers: POST /webhooks/shopify/<code>/ and /webhooks/woocommerce/<code>/.

They verify the channel's HMAC over the raw body in constant time, store the raw message once and answer 200
at once; a Celery task on the `channel` queue does the rest (connectors.inbound). Plain Django views: DRF's
parsing would consume the raw body the signature is over, and this is the hottest inbound path.
"""

import base64
import hashlib
import hmac
from urllib.parse import parse_qs

from django.conf import settings
from django.db.models import F
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from channels_integration.connectors.adapters import ADAPTERS
from channels_integration.connectors.inbound import inbound_receive, payload_parse
from channels_integration.models import Channel
from ordersync.middleware import raw_body

# Request headers worth keeping with the message; cookies and credentials never are.
DROPPED_HEADERS = {"cookie", "authorization", "proxy-authorization"}


def _error(status: int, code: str, detail: str) -> JsonResponse:
    return JsonResponse({"code": code, "detail": detail}, status=status)


def signature_valid(*, secret: str, body: bytes, signature: str) -> bool:
    """Both channels send base64(HMAC-SHA256(secret, raw body))."""
    if not secret or not signature:
        return False
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected.encode(), signature.strip().encode())


def _read_body(request) -> bytes | None:
    """The raw body, or None when it is over the limit (checked on Content-Length before reading anything)."""
    limit = settings.CHANNELS_WEBHOOK_MAX_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return None
    body = request.read(limit + 1)
    return None if len(body) > limit else body


def _is_woocommerce_ping(request, body: bytes) -> bool:
    """WooCommerce's unsigned creation ping: a form body `webhook_id=<n>` and nothing else."""
    if request.content_type != "application/x-www-form-urlencoded" or len(body) > 100:
        return False
    fields = parse_qs(body.decode("latin-1"))
    return list(fields) == ["webhook_id"] and fields["webhook_id"][0].isdigit()


def _reject(channel: Channel) -> JsonResponse:
    Channel.objects.filter(pk=channel.pk).update(webhook_rejections=F("webhook_rejections") + 1,
                                                 webhook_last_rejected_at=timezone.now())
    return _error(401, "invalid_signature", "The signature header is missing or does not match this body; "
                                            "check the webhook secret configured for this channel.")


def _receive(request, kind: str, channel_code: str):
    adapter = ADAPTERS[kind]
    channel = Channel.objects.filter(code=channel_code, kind=kind, active=True).first()
    if channel is None:
        return _error(404, "not_found", f"No active {adapter.NAME} channel {channel_code!r}.")
    body = _read_body(request)
    if body is None:
        return _error(413, "payload_too_large",
                      f"Webhook bodies are limited to {settings.CHANNELS_WEBHOOK_MAX_BYTES} bytes.")
    signature = request.headers.get(adapter.SIGNATURE_HEADER, "")
    if kind == Channel.Kind.WOOCOMMERCE and not signature and _is_woocommerce_ping(request, body):
        return JsonResponse({"ok": True, "ping": True})
    if not signature_valid(secret=channel.webhook_secret, body=body, signature=signature):
        return _reject(channel)
    headers = {k.lower(): v for k, v in request.headers.items() if k.lower() not in DROPPED_HEADERS}
    payload, parse_error = payload_parse(body)  # not JSON we take: stored anyway, failed with the reason
    identity = adapter.identify(headers, payload, body)
    message = inbound_receive(channel=channel, identity=identity, headers=headers, body=body, parse_error=parse_error)
    if message is None:
        return JsonResponse({"ok": True, "duplicate": True})
    return JsonResponse({"ok": True, "message": message.pk})


@raw_body
@csrf_exempt
@require_POST
def shopify_webhook(request, channel_code: str):
    return _receive(request, Channel.Kind.SHOPIFY, channel_code)


@raw_body
@csrf_exempt
@require_POST
def woocommerce_webhook(request, channel_code: str):
    return _receive(request, Channel.Kind.WOOCOMMERCE, channel_code)
