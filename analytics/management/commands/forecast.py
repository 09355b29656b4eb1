import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from analytics import capacity
from analytics.forecasting import InsufficientHistory
from analytics.plots import forecast_chart
from analytics.selectors import channel_codes
from analytics.services import UnknownChannel, forecast_report
from analytics.text import report_lines


class Command(BaseCommand):
    help = ("Forecast orders per hour for the next days (statsmodels ETS, backtested against seasonal naive), "
            "advise web and worker processes for the peak, and write a PNG chart.")

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=7, help="horizon in days (1–28, default 7)")
        parser.add_argument("--channel", help="one channel's code; default: every channel together")
        parser.add_argument("--png", type=Path, help="where to write the chart (default: RUN_DIR/forecast.png); "
                                                      "a name ending in .svg writes SVG")
        parser.add_argument("--hourly", action="store_true", help="print every forecast hour, not one row a day")
        parser.add_argument("--target-p95-ms", type=float, default=capacity.DEFAULT_TARGET_P95_MS,
                            help="p95 sync latency to keep under, ingest plus delivery (default %(default)s)")
        parser.add_argument("--burst", type=float, default=capacity.DEFAULT_BURST,
                            help="busiest minutes of the peak hour as a multiple of its mean (default %(default)s)")
        parser.add_argument("--requests-per-order", type=float, default=capacity.DEFAULT_REQUESTS_PER_ORDER,
                            help="API calls per order: ingest plus transitions (default %(default)s)")
        parser.add_argument("--bench-results", type=Path, default=capacity.BENCH_RESULTS,
                            help="bench results JSON with a throughput section (default %(default)s)")

    def handle(self, *args, days, channel, png, hourly, target_p95_ms, burst, requests_per_order, bench_results,
               **options):
        if target_p95_ms <= 0 or burst < 1 or requests_per_order <= 0:
            raise CommandError("--target-p95-ms and --requests-per-order must be positive and --burst at least 1.")
        if png is None:  # the run directory is ours to create; a folder the operator named is not
            png = Path(settings.RUN_DIR) / "forecast.png"
            png.parent.mkdir(parents=True, exist_ok=True)
        if not png.parent.is_dir():
            raise CommandError(f"Cannot write the chart: folder {png.parent} does not exist. Create it or pass "
                               "another --png path.")
        bar = None

        def step(label: str, total: int) -> None:
            nonlocal bar
            if bar is None:
                bar = tqdm(total=total, unit="fit", desc="fitting", file=sys.stderr, leave=False)
            else:
                bar.update(1)
            bar.set_postfix_str(label)

        try:
            report = forecast_report(channel=channel, days=days, bench_results=bench_results,
                                     target_p95_ms=target_p95_ms, burst=burst,
                                     requests_per_order=requests_per_order, step=step)
        except UnknownChannel as exc:
            known = ", ".join(channel_codes()) or "none yet (run manage.py seed_demo)"
            raise CommandError(f"No channel {str(exc)!r}. Known channels: {known}.") from exc
        except InsufficientHistory as exc:
            raise CommandError(f"{exc} Wait until more orders have arrived, or load demo data with "
                               "`manage.py seed_history --days 120`.") from exc
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            if bar is not None:
                bar.update(1)
                bar.close()
        self.stdout.write("\n".join(report_lines(report, hourly=hourly)))
        png.write_bytes(forecast_chart(report, format="svg" if png.suffix.lower() == ".svg" else "png"))
        self.stdout.write(f"\nchart written to {png}")
