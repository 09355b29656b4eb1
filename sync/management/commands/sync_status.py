from django.core.management.base import BaseCommand
from django.utils import timezone

from sync import selectors
from sync.services.endpoints import breaker_state


class Command(BaseCommand):
    help = "Prints the backlog per endpoint and the age of its oldest pending delivery."

    def handle(self, *args, **options):
        now = timezone.now()
        header = f"{'endpoint':<30} {'kind':<13} {'state':<10} {'backlog':>8} {'dead':>6} {'oldest pending':>15}"
        self.stdout.write(header)
        total = 0
        for endpoint in selectors.endpoints_with_health():
            state = breaker_state(endpoint, now=now) if endpoint.active else "disabled"
            oldest = "-"
            if endpoint.oldest_pending_at:
                oldest = f"{(now - endpoint.oldest_pending_at).total_seconds():.0f}s"
            total += endpoint.backlog
            self.stdout.write(f"{endpoint.name:<30} {endpoint.kind:<13} {state:<10} {endpoint.backlog:>8} "
                              f"{endpoint.dead:>6} {oldest:>15}")
        self.stdout.write(f"total backlog: {total}")
