from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from analytics.history import order_history_seed


def test_the_forecast_page_shows_the_chart_and_the_capacity_advice(client, viewer, channel):
    cache.clear()
    order_history_seed(days=35, channels=[channel], now=timezone.now(), orders_per_hour=2.0)
    client.force_login(viewer)
    assert reverse("console-forecast") in client.get(reverse("console-dashboard")).content.decode()
    body = client.get(reverse("console-forecast")).content.decode()
    chart = body.split('<div id="forecast-chart"')[1].split("</div>")[0]
    assert "<svg" in chart and "<script" not in chart
    advice = body.split('<pre id="forecast-advice">')[1].split("</pre>")[0]
    assert "backtest on" in advice and "verdict:" in advice and "capacity advice:" in advice
    assert "worker" in advice.split("capacity advice:")[1]


def test_without_enough_history_the_page_says_what_it_needs(client, viewer, db):
    cache.clear()
    client.force_login(viewer)
    body = client.get(reverse("console-forecast")).content.decode()
    assert "seed_history --days 120" in body.split('id="forecast-missing">')[1].split("</p>")[0]
    assert 'id="forecast-chart"' not in body


def test_the_forecast_page_needs_a_staff_login(client, db):
    assert client.get(reverse("console-forecast")).status_code == 302
