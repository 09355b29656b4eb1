from celery import shared_task

from compliance.personal_data import orders_anonymise_retained


@shared_task(name="compliance.retention_sweep")
def retention_sweep() -> int:
    """Beat: anonymises finished orders past ORDER_RETENTION_DAYS (a batch per run; idempotent)."""
    erasure = orders_anonymise_retained()
    return erasure.counts["orders"] if erasure else 0
