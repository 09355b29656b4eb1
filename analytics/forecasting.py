"""The model, its backtest against two baselines, and the fallback when history shows no usable pattern.

Pure functions over hourly pandas series (UTC index, freq "h"); nothing here touches the database.
"""

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from statsmodels.tools.sm_exceptions import ConvergenceWarning
from statsmodels.tsa.exponential_smoothing.ets import ETSModel

# One season is the week's 168 hours: its profile carries the 24-hour cycle and the weekday/weekend difference.
# (MSTL with separate 24 h and 168 h components measured worse on the same data: docs/FORECAST.md.)
SEASON = 168
MIN_TRAIN_WEEKS = 2  # the heuristic initialisation needs two full seasons
MAX_BACKTEST_WEEKS = 2
MIN_HISTORY_HOURS = (MIN_TRAIN_WEEKS + 1) * SEASON  # two to learn from, one held out to test on
INTERVAL = 0.95
# The seasonal model must cut the flat forecast's error by at least this much to count as a pattern.
PATTERN_MARGIN = 0.05

SEASONAL_MODEL = "ETS(A,N,A), 168-hour season, on sqrt(orders)"
FLAT_MODEL = "ETS(A,N,N) level only, on sqrt(orders)"


class InsufficientHistory(Exception):
    def __init__(self, *, have_hours: int, subject: str):
        self.have_hours = have_hours
        self.need_hours = MIN_HISTORY_HOURS
        super().__init__(
            f"{subject} has {have_hours / 24:.1f} days of order history ({have_hours} hours); the forecast needs at "
            f"least {MIN_HISTORY_HOURS // 24} days ({MIN_TRAIN_WEEKS} weeks to learn the weekly pattern and 1 "
            f"held-out week to test it)."
        )


@dataclass(frozen=True)
class ModelForecast:
    mean: pd.Series
    lower: pd.Series
    upper: pd.Series

    def scaled(self, factors: pd.Series) -> "ModelForecast":
        f = factors.reindex(self.mean.index)
        return ModelForecast(mean=self.mean * f, lower=self.lower * f, upper=self.upper * f)


def _future_index(history: pd.Series, hours: int) -> pd.DatetimeIndex:
    return pd.date_range(history.index[-1] + pd.Timedelta(hours=1), periods=hours, freq="h")


def _ets(history: pd.Series, horizon: int, *, seasonal: bool) -> ModelForecast:
    """Fits on the square root of the counts (it steadies Poisson-like noise; squaring back keeps bounds ≥ 0)."""
    options = {"seasonal": "add", "seasonal_periods": SEASON, "initialization_method": "heuristic"} if seasonal else {}
    with warnings.catch_warnings():
        # An optimiser that stops near, not at, the optimum still forecasts well; the backtest is the judge.
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted = ETSModel(np.sqrt(history), error="add", trend=None, **options).fit(disp=False)
    frame = fitted.get_prediction(start=len(history), end=len(history) + horizon - 1).summary_frame(
        alpha=1 - INTERVAL
    )
    index = _future_index(history, horizon)

    def back(column: str) -> pd.Series:
        return pd.Series(np.clip(frame[column].to_numpy(), 0, None) ** 2, index=index)

    return ModelForecast(mean=back("mean"), lower=back("pi_lower"), upper=back("pi_upper"))


def fit_seasonal(history: pd.Series, horizon: int) -> ModelForecast:
    return _ets(history, horizon, seasonal=True)


def fit_flat(history: pd.Series, horizon: int) -> ModelForecast:
    return _ets(history, horizon, seasonal=False)


def seasonal_naive(history: pd.Series, horizon: int) -> pd.Series:
    """The same hour one week earlier."""
    values = np.resize(history.to_numpy()[-SEASON:], horizon)
    return pd.Series(values, index=_future_index(history, horizon))


@dataclass(frozen=True)
class Scores:
    mae: float
    mape: float | None  # over hours with at least one order: a percentage of zero is undefined
    smape: float
    mase: float


def score(actual: pd.Series, predicted: pd.Series, *, training: pd.Series) -> Scores:
    a, p = actual.to_numpy(dtype=float), predicted.to_numpy(dtype=float)
    error = np.abs(a - p)
    nonzero = a > 0
    denominator = np.abs(a) + np.abs(p)
    smape = np.where(denominator > 0, 2 * error / np.where(denominator > 0, denominator, 1), 0.0)
    train = training.to_numpy(dtype=float)
    scale = np.mean(np.abs(train[SEASON:] - train[:-SEASON]))
    return Scores(
        mae=float(error.mean()),
        mape=float(np.mean(error[nonzero] / a[nonzero])) if nonzero.any() else None,
        smape=float(smape.mean()),
        mase=float(error.mean() / scale) if scale > 0 else float("inf"),
    )


def _mean_scores(scores: list[Scores]) -> Scores:
    mapes = [s.mape for s in scores if s.mape is not None]
    return Scores(
        mae=float(np.mean([s.mae for s in scores])),
        mape=float(np.mean(mapes)) if mapes else None,
        smape=float(np.mean([s.smape for s in scores])),
        mase=float(np.mean([s.mase for s in scores])),
    )


@dataclass(frozen=True)
class HeldOutWeek:
    starts_at: pd.Timestamp
    model: Scores
    seasonal_naive: Scores
    flat: Scores


@dataclass(frozen=True)
class Backtest:
    weeks: list[HeldOutWeek]
    model: Scores  # the seasonal model; averaged over the held-out weeks
    seasonal_naive: Scores
    flat: Scores

    @property
    def pattern_usable(self) -> bool:
        return self.model.mase <= (1 - PATTERN_MARGIN) * self.flat.mase

    @property
    def gain_over_seasonal_naive(self) -> float:
        """Share of the seasonal-naive error (MASE) the seasonal model removes; negative when it is worse."""
        return 1 - self.model.mase / self.seasonal_naive.mase

    @property
    def gain_over_flat(self) -> float:
        return 1 - self.model.mase / self.flat.mase

    @property
    def verdict(self) -> str:
        n = f"{len(self.weeks)} held-out week{'s' if len(self.weeks) > 1 else ''}"
        if not self.pattern_usable:
            return (
                f"no usable pattern: the seasonal model (MASE {self.model.mase:.2f}) is not at least "
                f"{PATTERN_MARGIN:.0%} better than a flat forecast (MASE {self.flat.mase:.2f}) on {n}; "
                "the forecast falls back to the flat model."
            )
        gain = self.gain_over_seasonal_naive
        if gain >= PATTERN_MARGIN:
            versus_naive = f"{gain:.0%} better"
        elif gain > -PATTERN_MARGIN:
            versus_naive = "about as good (more weeks of history would sharpen the model)"
        else:
            versus_naive = "NOT better"
        return (
            f"weekly pattern found: the seasonal model (MASE {self.model.mase:.2f}) beats a flat forecast "
            f"(MASE {self.flat.mase:.2f}) by {self.gain_over_flat:.0%} on {n}; against seasonal naive "
            f"(MASE {self.seasonal_naive.mase:.2f}) it is {versus_naive}."
        )


@dataclass(frozen=True)
class FitResult:
    model: str
    forecast: ModelForecast  # with promotions applied
    baseline: ModelForecast  # the same forecast without them
    backtest: Backtest


def backtest_weeks(history_hours: int) -> int:
    return min(MAX_BACKTEST_WEEKS, history_hours // SEASON - MIN_TRAIN_WEEKS)


def fit_steps(history_hours: int) -> int:
    """Model fits `forecast_fit` runs: two per held-out week (seasonal and flat) and the final one."""
    return 2 * backtest_weeks(history_hours) + 1


def forecast_fit(history: pd.Series, *, horizon: int, factors: pd.Series, subject: str,
                 step: Callable[[str, int], None] = lambda label, total: None) -> FitResult:
    """Backtests on the last held-out weeks, then fits the chosen model on all of `history`.

    `step(label, total)` is called before each of the `total` model fits (for a progress bar).
    `factors` covers history and horizon: 1 outside promotions, the expected multiplier inside. History is
    divided by it before fitting (a past sale is not the usual pattern) and forecasts are multiplied by it,
    in the backtest too, so baselines and model get the same knowledge of promotions.
    """
    if len(history) < MIN_HISTORY_HOURS:
        raise InsufficientHistory(have_hours=len(history), subject=subject)
    usual = history / factors.reindex(history.index)
    total = fit_steps(len(history))
    weeks = []
    for k in range(backtest_weeks(len(history)), 0, -1):
        cut = len(usual) - k * SEASON
        train, actual = usual.iloc[:cut], history.iloc[cut:cut + SEASON]
        week_factors = factors.reindex(actual.index)
        step(f"backtest week {actual.index[0]:%Y-%m-%d}", total)
        model = fit_seasonal(train, SEASON).mean * week_factors
        step(f"flat baseline week {actual.index[0]:%Y-%m-%d}", total)
        flat = fit_flat(train, SEASON).mean * week_factors
        naive = seasonal_naive(train, SEASON) * week_factors
        weeks.append(HeldOutWeek(
            starts_at=actual.index[0],
            model=score(actual, model, training=train),
            seasonal_naive=score(actual, naive, training=train),
            flat=score(actual, flat, training=train),
        ))
    backtest = Backtest(
        weeks=weeks,
        model=_mean_scores([w.model for w in weeks]),
        seasonal_naive=_mean_scores([w.seasonal_naive for w in weeks]),
        flat=_mean_scores([w.flat for w in weeks]),
    )
    step("final fit", total)
    if backtest.pattern_usable:
        name, baseline = SEASONAL_MODEL, fit_seasonal(usual, horizon)
    else:
        name, baseline = FLAT_MODEL, fit_flat(usual, horizon)
    return FitResult(model=name, forecast=baseline.scaled(factors), baseline=baseline, backtest=backtest)
