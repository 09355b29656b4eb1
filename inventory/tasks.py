"""Thin tasks: publish the coalesced stock feed (nudged after each change, and on a beat as a backup)."""

from celery import shared_task
from django.conf import settings

from inventory.feed import nudge_publisher
from inventory.services import stock_feed_publish


@shared_task(ignore_result=True)
def publish_stock_changes(limit: int = 500) -> int:
    published, left_behind = stock_feed_publish(limit=limit)
    if left_behind:
        # Rows still being written (or beyond the batch): come back shortly instead of waiting for the beat.
        nudge_publisher(countdown=settings.INVENTORY_STOCK_FEED_RETRY_SECONDS)
    return published
