import json
import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from PIL import Image

from analytics import capacity
from orders.models import Order
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db


def run(name: str, *args: str) -> str:
    out = StringIO()
    call_command(name, *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def recent(channel):
    """Four weeks of history up to the real current hour (the command forecasts from now)."""
    return run("seed_history", "--days", "28", "--channel", channel.code)


def test_forecast_prints_backtest_table_and_advice_and_writes_the_png(recent, tmp_path):
    bench = tmp_path / "latest.json"
    bench.write_text(json.dumps({"throughput": {capacity.BENCH_INGEST_KEY: 34.0, capacity.BENCH_DELIVERY_KEY: 21.9}}))
    png = tmp_path / "forecast.png"
    printed = run("forecast", "--png", str(png), "--bench-results", str(bench))
    assert "Forecast for all channels, next 7 days" in printed
    assert re.search(r"seasonal model\s+[\d.]+\s+[\d.]+%\s+[\d.]+%\s+[\d.]+", printed)
    assert "seasonal naive (last week)" in printed and "verdict: " in printed
    assert len(re.findall(r"^  \w{3} \d{4}-\d{2}-\d{2}\s+\d+\s+\d+", printed, re.M)) in (7, 8)  # a row a day
    assert "web processes: 1" in printed and "bench results latest.json" in printed
    assert "promotions:" in printed and "Demo weekend sale" in printed
    assert f"chart written to {png}" in printed
    with Image.open(png) as image:
        assert image.format == "PNG" and image.width >= 1000


def test_forecast_for_one_channel_hourly_and_as_svg(recent, channel, tmp_path):
    svg = tmp_path / "f.svg"
    printed = run("forecast", "--channel", channel.code, "--hourly", "--days", "1", "--png", str(svg))
    assert "Forecast for channel webshop" in printed
    assert len(re.findall(r"^  \w{3} \d{4}-\d{2}-\d{2} \d{2}:00\s+[\d.]+\s+[\d.]+\s+[\d.]+$", printed, re.M)) == 24
    assert b"<svg" in svg.read_bytes()


def test_an_unknown_channel_is_a_command_error_listing_the_known_ones(channel):
    with pytest.raises(CommandError, match=r"No channel 'nope'\. Known channels: webshop\."):
        run("forecast", "--channel", "nope")


def test_too_little_history_says_how_much_is_needed_and_what_to_do(channel):
    run("seed_history", "--days", "5")
    with pytest.raises(CommandError) as raised:
        run("forecast")
    message = str(raised.value)
    assert "needs at least 21 days" in message and "seed_history --days 120" in message


@pytest.mark.parametrize("args, message", [
    (["--days", "0"], "--days must be between 1 and 28"),
    (["--days", "60"], "--days must be between 1 and 28"),
    (["--burst", "0.5"], "--burst at least 1"),
    (["--png", "/no/such/folder/f.png"], "folder /no/such/folder does not exist"),
])
def test_bad_options_are_command_errors(channel, args, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        run("forecast", *args)


def test_seed_history_reports_what_it_added_and_a_rerun_adds_nothing(channel):
    first = run("seed_history", "--days", "3")
    count = Order.objects.count()
    assert f"webshop: {count} orders added" in first and count > 0
    assert "webshop: 0 orders added" in run("seed_history", "--days", "3")


def test_seed_history_refuses_unknown_channels_and_a_database_without_channels(db):
    with pytest.raises(CommandError, match="No active channel.*seed_demo"):
        run("seed_history", "--days", "3")
    ChannelFactory(code="shop")
    with pytest.raises(CommandError, match="No channel ghost. Known channels: shop."):
        run("seed_history", "--channel", "ghost")
    with pytest.raises(CommandError, match="--days must be between 1 and 730"):
        run("seed_history", "--days", "0")


def test_seed_demo_loads_order_history_once_per_hour(tmp_path, settings, monkeypatch):
    settings.RUN_DIR = tmp_path
    frozen = timezone.now().replace(minute=30)
    monkeypatch.setattr(timezone, "now", lambda: frozen)  # both runs in the same hour
    run("seed_demo")
    orders = Order.objects.count()
    assert orders > 28 * 24 * 3  # three demo channels, about 6 orders an hour between them
    assert Order.objects.order_by("placed_at").first().placed_at >= frozen - timedelta(days=28, hours=1)
    run("seed_demo")
    assert Order.objects.count() == orders
