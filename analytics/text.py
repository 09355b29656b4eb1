"""The forecast report as text lines: what `manage.py forecast` prints and the console's forecast page shows."""

from analytics.services import ForecastReport


def _scores_row(label: str, s) -> str:
    mape = f"{s.mape:6.1%}" if s.mape is not None else "     –"
    return f"  {label:<26}{s.mae:8.2f} {mape} {s.smape:7.1%} {s.mase:6.2f}"


def report_lines(report: ForecastReport, *, hourly: bool = False) -> list[str]:
    history, bt = report.history, report.backtest
    out = [
        f"Forecast for {report.subject}, next {len(report.forecast) // 24} days per hour (UTC)",
        f"model: {report.model}; interval {report.interval:.0%}",
        f"history: {history.index[0]:%Y-%m-%d %H:00} → {history.index[-1]:%Y-%m-%d %H:00} "
        f"({len(history)} hours, {int(history.sum())} orders)",
        "",
        f"backtest on {len(bt.weeks)} held-out week(s)        MAE   MAPE   sMAPE   MASE",
        _scores_row("seasonal model", bt.model),
        _scores_row("seasonal naive (last week)", bt.seasonal_naive),
        _scores_row("flat (ETS level only)", bt.flat),
        f"verdict: {bt.verdict}",
        "",
    ]
    if report.promotions:
        out.append("promotions:")
        out += [f"  {p.name}: {p.starts_at:%Y-%m-%d %H:%M} → {p.ends_at:%Y-%m-%d %H:%M}, +{p.uplift_percent} %"
                + (f" on {p.channel}" if p.channel else " on every channel")
                + (f" (×{p.applied_factor:.2f} here)" if abs(p.applied_factor - 1 - p.uplift_percent / 100) > 1e-9
                   else "") for p in report.promotions]
        out.append("")
    if hourly:
        out.append("hour (UTC)            forecast   lower   upper")
        out += [f"  {t:%a %Y-%m-%d %H:00} {m:8.1f} {lo:7.1f} {hi:7.1f}"
                for t, m, lo, hi in zip(report.forecast.index, report.forecast, report.lower, report.upper,
                                        strict=True)]
    else:
        out.append(f"day (UTC)       hours  orders   peak hour   peak   upper {report.interval:.0%}")
        out += [f"  {day:%a %Y-%m-%d} {row.hours:5.0f} {row.orders:7.0f}   {row.peak_hour:%H:00}     "
                f"{row.peak:5.1f}  {row.peak_upper:6.1f}" for day, row in report.daily().iterrows()]
    out += ["", "capacity advice:"] + [f"  {line}" for line in report.advice.lines()]
    return out
