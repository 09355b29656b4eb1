from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from analytics.history import order_history_seed
from tests.factories import ChannelFactory

# A fixed "now" (a Monday afternoon) so every seeded history and forecast is the same on every run.
NOW = datetime(2026, 11, 30, 14, 30, tzinfo=UTC)


@pytest.fixture
def channel(db):
    return ChannelFactory(code="webshop", currency="EUR")


@pytest.fixture
def seeded(channel):
    """Seeds `days` of demo history for `channel` (or the given channels) up to NOW; returns the result."""

    def seed(days: int, *, channels=None, **options):
        return order_history_seed(days=days, channels=channels or [channel], now=NOW, **options)

    return seed


def poisson_series(*, weeks: int, seasonal: bool, mean: float = 8.0, seed: int = 1) -> pd.Series:
    """Synthetic hourly counts: a daily and weekly cycle with Poisson noise, or the noise alone."""
    hours = np.arange(weeks * 168)
    rate = np.full(len(hours), mean)
    if seasonal:
        rate = rate * (1 + 0.8 * np.sin(2 * np.pi * (hours % 24 - 9) / 24)).clip(0.1) * np.where(
            (hours // 24) % 7 >= 5, 1.4, 1.0)
    values = np.random.default_rng(seed).poisson(rate).astype(float)
    return pd.Series(values, index=pd.date_range("2026-06-01", periods=len(hours), freq="h", tz="UTC"))
