"""The bytes of one delivery attempt: Standard Webhooks signed JSON."""

import json
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook


def build_body(*, topic: str, payload: dict, sequence: int, order_id: int | None, timestamp: datetime) -> str:
    data = {**payload, "sequence": sequence, "order_id": order_id}
    return json.dumps({"type": topic, "timestamp": timestamp.isoformat(), "data": data}, separators=(",", ":"),
                      default=str)


def signed_headers(*, secret: str, message_id: str, body: str, now: datetime) -> dict[str, str]:
    now = now.astimezone(UTC)
    return {
        "Content-Type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, now, body),
        "Idempotency-Key": message_id,
    }
