import json

from django.core.management.base import BaseCommand
from django.utils import timezone

from sync import selectors
from sync.services.endpoints import breaker_state


class Command(BaseCommand):
    help = "Prints the backlog per endpoint and the age of its oldest pending delivery (--json for scripts)."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="One JSON document: endpoints and total backlog.")

    def handle(self, *args, **options):
        now = timezone.now()
        rows = []
        for endpoint in selectors.endpoints_with_health():
            oldest = endpoint.oldest_pending_at
            rows.append({
                "endpoint": endpoint.name, "kind": endpoint.kind,
                "state": breaker_state(endpoint, now=now) if endpoint.active else "disabled",
                "backlog": endpoint.backlog, "dead": endpoint.dead,
                "oldest_pending_seconds": round((now - oldest).total_seconds(), 1) if oldest else None,
            })
        total = sum(row["backlog"] for row in rows)
        if options["json"]:
            self.stdout.write(json.dumps({"endpoints": rows, "total_backlog": total}))
            return
        header = f"{'endpoint':<30} {'kind':<13} {'state':<10} {'backlog':>8} {'dead':>6} {'oldest pending':>15}"
        self.stdout.write(header)
        for row in rows:
            age = row["oldest_pending_seconds"]
            oldest = "-" if age is None else f"{age:.0f}s"
            self.stdout.write(f"{row['endpoint']:<30} {row['kind']:<13} {row['state']:<10} {row['backlog']:>8} "
                              f"{row['dead']:>6} {oldest:>15}")
        self.stdout.write(f"total backlog: {total}")
