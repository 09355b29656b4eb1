import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from analytics.history import order_history_seed
from channels_integration.models import Channel

MAX_DAYS = 730


class Command(BaseCommand):
    help = ("Generate demo order history (daily and weekly seasonality, noise, a promotion spike) for "
            "forecasts. Seeded and repeatable: a rerun only adds hours it has not generated before.")

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=120, help="days of history up to now (default 120)")
        parser.add_argument("--channel", action="append", default=[],
                            help="channel code (repeatable); default: every active channel")
        parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
        parser.add_argument("--orders-per-hour", type=float, default=5.0,
                            help="mean orders per hour of the oldest channel; each next one sells 60 %% of it")
        parser.add_argument("--no-pattern", action="store_true",
                            help="the same mean every hour (no daily or weekly cycle), to see the forecast say so")

    def handle(self, *args, days, channel, seed, orders_per_hour, no_pattern, **options):
        if not 1 <= days <= MAX_DAYS:
            raise CommandError(f"--days must be between 1 and {MAX_DAYS}.")
        if not 0 < orders_per_hour <= 1000:
            raise CommandError("--orders-per-hour must be above 0 and at most 1000.")
        if channel:
            channels = list(Channel.objects.filter(code__in=channel))
            missing = sorted(set(channel) - {c.code for c in channels})
            if missing:
                known = ", ".join(Channel.objects.values_list("code", flat=True)) or "none"
                raise CommandError(f"No channel {', '.join(missing)}. Known channels: {known}.")
        else:
            channels = list(Channel.objects.filter(active=True))
            if not channels:
                raise CommandError("No active channel to generate history for: run `manage.py seed_demo` or "
                                   "`manage.py create_channel CODE` first.")
        with tqdm(total=days * 24 * len(channels), unit="hour", desc="seeding", file=sys.stderr) as bar:
            result = order_history_seed(days=days, channels=channels, seed=seed, orders_per_hour=orders_per_hour,
                                        seasonal=not no_pattern,
                                        progress=bar.update)
        for code, count in result.created.items():
            self.stdout.write(f"{code}: {count} orders added")
        for name in result.promotions:
            self.stdout.write(f"promotion created: {name}")
