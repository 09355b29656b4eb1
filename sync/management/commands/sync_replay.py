import re
import sys
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from tqdm import tqdm

from sync.models import Delivery, Endpoint
from sync.services import deliveries_replay

CHUNK = 200


def parse_since(value: str):
    """An ISO timestamp or an age like 30m, 6h, 2d."""
    match = re.fullmatch(r"(\d+)([smhd])", value.strip())
    if match:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
        return timezone.now() - timedelta(**{unit: int(match.group(1))})
    parsed = parse_datetime(value)
    if parsed is None:
        raise CommandError(f"--since {value!r}: expected an ISO time (2026-11-25T10:00) or an age (30m, 6h, 2d)")
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)


class Command(BaseCommand):
    help = "Re-queues an endpoint's deliveries (by default the dead ones) with a fresh retry schedule."

    def add_arguments(self, parser):
        parser.add_argument("--endpoint", required=True, help="endpoint name")
        parser.add_argument("--state", default=Delivery.State.DEAD,
                            choices=[Delivery.State.DEAD, Delivery.State.CANCELLED, Delivery.State.PENDING,
                                     Delivery.State.SUCCEEDED])
        parser.add_argument("--since", default=None, help="only deliveries created since (ISO time or 30m/6h/2d)")
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args, **options):
        endpoint = Endpoint.objects.filter(name=options["endpoint"]).first()
        if endpoint is None:
            raise CommandError(f"no endpoint named {options['endpoint']!r}")
        deliveries = Delivery.objects.filter(endpoint=endpoint, state=options["state"])
        if options["since"]:
            deliveries = deliveries.filter(created_at__gte=parse_since(options["since"]))
        # Oldest first: within an order, the earlier event must be queued before the later one.
        ids = list(deliveries.order_by("stream", "sequence").values_list("pk", flat=True))
        if options["dry_run"]:
            self.stdout.write(f"would re-queue {len(ids)} {options['state']} deliveries to {endpoint.name}")
            return
        replayed = 0
        with tqdm(total=len(ids), unit="delivery", desc=f"replay {endpoint.name}", file=sys.stderr) as bar:
            for start in range(0, len(ids), CHUNK):
                chunk = ids[start:start + CHUNK]
                replayed += deliveries_replay(delivery_ids=chunk)
                bar.update(len(chunk))
        self.stdout.write(f"re-queued {replayed} deliveries to {endpoint.name}")
