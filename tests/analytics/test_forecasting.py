"""The model on synthetic series, without the database: pattern found, pattern absent, intervals, metrics."""

import numpy as np
import pandas as pd
import pytest

from analytics import forecasting
from tests.analytics.conftest import poisson_series


def no_promotions(history: pd.Series, horizon: int) -> pd.Series:
    index = history.index.append(pd.date_range(history.index[-1] + pd.Timedelta(hours=1), periods=horizon,
                                               freq="h"))
    return pd.Series(1.0, index=index)


def fit(history: pd.Series, horizon: int = 168, **options):
    return forecasting.forecast_fit(history, horizon=horizon, factors=no_promotions(history, horizon),
                                    subject="test series", **options)


def test_a_daily_and_weekly_pattern_is_found_and_beats_both_baselines():
    result = fit(poisson_series(weeks=10, seasonal=True))
    bt = result.backtest
    assert result.model == forecasting.SEASONAL_MODEL
    assert bt.pattern_usable and len(bt.weeks) == forecasting.MAX_BACKTEST_WEEKS
    assert bt.gain_over_seasonal_naive >= 0.15, bt.verdict
    assert bt.gain_over_flat >= 0.5
    assert bt.verdict.startswith("weekly pattern found")
    # The forecast keeps the cycle: evenings are far above nights.
    assert result.forecast.mean.max() > 3 * result.forecast.mean.min()


def test_noise_without_a_pattern_is_reported_as_such_and_the_forecast_falls_back_to_flat():
    result = fit(poisson_series(weeks=10, seasonal=False))
    bt = result.backtest
    assert not bt.pattern_usable
    assert result.model == forecasting.FLAT_MODEL
    assert bt.verdict.startswith("no usable pattern")
    # Flat means flat: no invented cycle.
    assert result.forecast.mean.std() < 1e-6
    assert result.forecast.mean.iloc[0] == pytest.approx(8.0, rel=0.15)


def test_the_95_percent_interval_covers_most_of_a_held_out_week():
    series = poisson_series(weeks=9, seasonal=True, seed=5)
    train, actual = series.iloc[:-168], series.iloc[-168:]
    forecast = forecasting.fit_seasonal(train, 168)
    inside = ((actual >= forecast.lower) & (actual <= forecast.upper)).mean()
    assert inside >= 0.88
    assert (forecast.lower >= 0).all() and (forecast.upper > forecast.mean).all()


def test_too_little_history_says_how_much_is_needed_instead_of_fitting():
    short = poisson_series(weeks=3, seasonal=True).iloc[:-24]
    with pytest.raises(forecasting.InsufficientHistory) as raised:
        fit(short)
    assert raised.value.need_hours == 21 * 24 and raised.value.have_hours == len(short)
    assert "needs at least 21 days" in str(raised.value) and "20.0 days" in str(raised.value)


def test_three_weeks_is_enough_for_one_held_out_week():
    assert len(fit(poisson_series(weeks=3, seasonal=True)).backtest.weeks) == 1


def test_every_fit_is_announced_for_the_progress_bar():
    calls = []
    fit(poisson_series(weeks=5, seasonal=True), step=lambda label, total: calls.append((label, total)))
    assert [total for _, total in calls] == [5] * 5
    assert calls[-1][0] == "final fit"


def test_scores_skip_zero_hours_for_mape_and_scale_mase_by_last_weeks_naive_error():
    index = pd.date_range("2026-01-05", periods=3, freq="h", tz="UTC")
    actual = pd.Series([0.0, 10.0, 20.0], index=index)
    predicted = pd.Series([0.0, 12.0, 15.0], index=index)
    training = pd.Series(np.r_[np.zeros(168), np.full(168, 2.0)])  # same hour last week: off by 2 every hour
    s = forecasting.score(actual, predicted, training=training)
    assert s.mae == pytest.approx(7 / 3)
    assert s.mape == pytest.approx((2 / 10 + 5 / 20) / 2)  # the zero hour is left out, not divided by
    assert s.smape == pytest.approx((0 + 4 / 22 + 10 / 35) / 3)  # 0/0 counts as a perfect hour
    assert s.mase == pytest.approx((7 / 3) / 2)


def test_promotions_lift_the_forecast_and_are_taken_out_of_the_history_before_fitting():
    history = poisson_series(weeks=6, seasonal=True)
    factors = no_promotions(history, 168)
    sale = (factors.index >= history.index[-1] + pd.Timedelta(hours=30)) & (
        factors.index < history.index[-1] + pd.Timedelta(hours=54))
    past = (factors.index >= history.index[200]) & (factors.index < history.index[248])
    factors[sale], factors[past] = 2.5, 3.0
    spiked = history.copy()
    spiked[past[: len(history)]] *= 3.0
    result = forecasting.forecast_fit(spiked, horizon=168, factors=factors, subject="test")
    plain = fit(history)
    in_sale = sale[len(history):]
    assert np.allclose(result.forecast.mean[in_sale], 2.5 * result.baseline.mean[in_sale])
    assert np.allclose(result.forecast.mean[~in_sale], result.baseline.mean[~in_sale])
    # The past spike, divided out, leaves the usual forecast: the same as for history that never had it.
    assert np.allclose(result.baseline.mean, plain.baseline.mean, rtol=0.05, atol=0.5)


@pytest.mark.parametrize("model_mase, verdict_part", [
    (0.7, "it is 30% better."),
    (0.98, "it is about as good (more weeks of history would sharpen the model)."),
    (1.2, "it is NOT better."),
])
def test_the_verdict_says_plainly_how_the_model_compares_with_seasonal_naive(model_mase, verdict_part):
    def s(mase):
        return forecasting.Scores(mae=mase, mape=None, smape=0.5, mase=mase)

    week = forecasting.HeldOutWeek(starts_at=pd.Timestamp("2026-11-23", tz="UTC"), model=s(model_mase),
                                   seasonal_naive=s(1.0), flat=s(3.0))
    bt = forecasting.Backtest(weeks=[week], model=s(model_mase), seasonal_naive=s(1.0), flat=s(3.0))
    assert bt.pattern_usable and bt.verdict.startswith("weekly pattern found")
    assert bt.verdict.endswith(verdict_part) and "on 1 held-out week;" in bt.verdict
