"""What the forecast command and the operator console call: one report, and the promotion writes."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from django.db import transaction
from django.utils import timezone

from analytics import capacity, forecasting
from analytics.models import Promotion
from analytics.selectors import channel_by_code, hourly_order_counts, order_endpoints_per_queue, promotions_overlapping
from sync.models import Endpoint

# Older history adds fitting time but little skill: the seasonal profile adapts to recent weeks anyway.
HISTORY_WEEKS = 16
# A channel-specific promotion lifts the all-channel forecast by its uplift times the channel's recent share.
SHARE_WEEKS = 4
MAX_DAYS = 28


class UnknownChannel(ValueError):
    pass


@dataclass(frozen=True)
class PromotionWindow:
    name: str
    starts_at: datetime
    ends_at: datetime
    uplift_percent: int
    channel: str | None
    applied_factor: float  # what it multiplies this forecast by (share-weighted for another channel's promotion)


@dataclass(frozen=True)
class ForecastReport:
    channel: str | None  # None: every channel together
    generated_at: datetime
    history: pd.Series  # orders per hour, UTC
    forecast: pd.Series
    lower: pd.Series
    upper: pd.Series
    baseline: pd.Series  # the forecast without promotions
    interval: float
    model: str
    backtest: forecasting.Backtest
    promotions: list[PromotionWindow]
    advice: capacity.CapacityAdvice

    @property
    def subject(self) -> str:
        return f"channel {self.channel}" if self.channel else "all channels"

    def daily(self) -> pd.DataFrame:
        """One row per forecast day (UTC): hours covered, expected orders, the peak hour and its upper bound."""
        frame = pd.DataFrame({"forecast": self.forecast, "lower": self.lower, "upper": self.upper})
        days = frame.groupby(frame.index.floor("D"))
        return pd.DataFrame({
            "hours": days["forecast"].count(),
            "orders": days["forecast"].sum(),
            "peak_hour": days["forecast"].idxmax(),
            "peak": days["forecast"].max(),
            "peak_upper": days["upper"].max(),
        })


def _hour_overlap(index: pd.DatetimeIndex, start: datetime, end: datetime) -> np.ndarray:
    """Share of each hour in `index` covered by [start, end)."""
    hour = pd.Timedelta(hours=1).value
    begins = index.as_unit("ns").asi8
    start_ns, end_ns = pd.Timestamp(start).as_unit("ns").value, pd.Timestamp(end).as_unit("ns").value
    covered = np.minimum(begins + hour, end_ns) - np.maximum(begins, start_ns)
    return np.clip(covered / hour, 0, 1)


def _promotion_factors(promotions: list[Promotion], index: pd.DatetimeIndex, *, channel: str | None,
                       shares: dict[str, float]) -> tuple[pd.Series, list[PromotionWindow]]:
    factors = np.ones(len(index))
    windows = []
    for promo in promotions:
        code = promo.channel.code if promo.channel else None
        if channel is not None and code not in (None, channel):
            continue
        weight = 1.0 if code is None or channel is not None else shares.get(code, 0.0)
        applied = 1 + (promo.factor - 1) * weight
        factors *= 1 + (applied - 1) * _hour_overlap(index, promo.starts_at, promo.ends_at)
        windows.append(PromotionWindow(promo.name, promo.starts_at, promo.ends_at, promo.uplift_percent, code,
                                       applied))
    return pd.Series(factors, index=index), windows


def _history(rows: list[dict], *, until: pd.Timestamp) -> tuple[pd.Series, dict[str, float]]:
    """Hourly totals from the first hour with an order to the last complete hour, zeros filled in."""
    if not rows:
        return pd.Series(dtype=float), {}
    frame = pd.DataFrame(rows)
    frame["hour"] = pd.to_datetime(frame["hour"], utc=True)
    index = pd.date_range(frame["hour"].min(), until - pd.Timedelta(hours=1), freq="h")
    totals = frame.groupby("hour")["orders"].sum().reindex(index, fill_value=0).astype(float)
    recent = frame[frame["hour"] >= until - pd.Timedelta(weeks=SHARE_WEEKS)]
    per_channel = recent.groupby("channel_code")["orders"].sum()
    shares = (per_channel / per_channel.sum()).to_dict() if per_channel.sum() else {}
    return totals, shares


def forecast_report(*, channel: str | None = None, days: int = 7, now: datetime | None = None,
                    bench_results: Path | None = capacity.BENCH_RESULTS,
                    target_p95_ms: float = capacity.DEFAULT_TARGET_P95_MS, burst: float = capacity.DEFAULT_BURST,
                    requests_per_order: float = capacity.DEFAULT_REQUESTS_PER_ORDER,
                    step: Callable[[str, int], None] = lambda label, total: None) -> ForecastReport:
    """History, forecast, backtest and capacity advice for one channel or all of them.

    Raises UnknownChannel, forecasting.InsufficientHistory, or ValueError for a horizon outside 1–28 days.
    """
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"--days must be between 1 and {MAX_DAYS}: an hourly model says little further ahead.")
    channel_obj = None
    if channel is not None:
        channel_obj = channel_by_code(channel)
        if channel_obj is None:
            raise UnknownChannel(channel)
    now = now or timezone.now()
    until = pd.Timestamp(now).tz_convert("UTC").floor("h")
    since = until - pd.Timedelta(weeks=HISTORY_WEEKS)
    rows = hourly_order_counts(since=since.to_pydatetime(), until=until.to_pydatetime(), channel=channel_obj)
    history, shares = _history(rows, until=until)
    subject = f"Channel {channel}" if channel else "The order table (all channels)"
    if len(history) < forecasting.MIN_HISTORY_HOURS:
        raise forecasting.InsufficientHistory(have_hours=len(history), subject=subject)
    horizon = days * 24
    index = history.index.append(pd.date_range(until, periods=horizon, freq="h"))
    promotions = promotions_overlapping(since=index[0].to_pydatetime(), until=index[-1].to_pydatetime()
                                        + timedelta(hours=1))
    factors, windows = _promotion_factors(promotions, index, channel=channel, shares=shares)
    fit = forecasting.forecast_fit(history, horizon=horizon, factors=factors, subject=subject, step=step)
    upper = fit.forecast.upper
    peak_at = upper.idxmax()
    queues = list(Endpoint.Kind.values)
    advice = capacity.capacity_advise(
        peak_at=peak_at.to_pydatetime(), peak_upper_per_hour=float(upper.max()),
        peak_mean_per_hour=float(fit.forecast.mean[peak_at]), endpoints_per_queue=order_endpoints_per_queue(),
        queues=queues, throughput=capacity.throughput_measured(queues=queues, now=now, bench_results=bench_results),
        target_p95_ms=target_p95_ms, burst=burst, requests_per_order=requests_per_order,
    )
    return ForecastReport(
        channel=channel, generated_at=now, history=history, forecast=fit.forecast.mean, lower=fit.forecast.lower,
        upper=upper, baseline=fit.baseline.mean, interval=forecasting.INTERVAL, model=fit.model,
        backtest=fit.backtest, promotions=[w for w in windows if w.ends_at > history.index[0]], advice=advice,
    )


@transaction.atomic
def promotion_save(*, promotion: Promotion) -> Promotion:
    """Validates (the end after the start, uplift 1–1000 %, at most 62 days) and saves; ValidationError names
    the field."""
    promotion.full_clean()
    promotion.save()
    return promotion


def promotion_create(*, name: str, starts_at: datetime, ends_at: datetime, uplift_percent: int,
                     channel=None) -> Promotion:
    return promotion_save(promotion=Promotion(name=name, starts_at=starts_at, ends_at=ends_at,
                                              uplift_percent=uplift_percent, channel=channel))


@transaction.atomic
def promotion_delete(*, promotion_ids: list[int]) -> int:
    deleted, _ = Promotion.objects.filter(pk__in=promotion_ids).delete()
    return deleted
