"""Stored answers for POSTs that carry an `Idempotency-Key`, scoped to the API key that sent them."""

import hashlib
import json

from django.db import IntegrityError, transaction

from orders.models import IdempotencyRecord
from ordersync.api import Conflict


def request_fingerprint(data) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def idempotency_replay(*, api_key_prefix: str, key: str, fingerprint: str) -> IdempotencyRecord | None:
    record = IdempotencyRecord.objects.filter(api_key_prefix=api_key_prefix, key=key).first()
    if record is not None and record.request_hash != fingerprint:
        raise Conflict(
            "This Idempotency-Key was already used with a different request body; use a new key.",
            code="idempotency_key_reused",
        )
    return record


def idempotency_store(*, api_key_prefix: str, key: str, fingerprint: str, status_code: int, body) -> None:
    """First answer wins: a concurrent request with the same key that stored first is kept as is."""
    try:
        with transaction.atomic():
            IdempotencyRecord.objects.create(
                api_key_prefix=api_key_prefix, key=key, request_hash=fingerprint, status_code=status_code,
                response_body=json.loads(json.dumps(body, default=str)),
            )
    except IntegrityError:
        pass
