"""The forecast chart, as PNG or SVG bytes: the command writes it to a file, the console serves it."""

from io import BytesIO

import matplotlib

matplotlib.use("Agg")  # before anything imports pyplot: no display, ever

import pandas as pd  # noqa: E402
from matplotlib.dates import DateFormatter, DayLocator  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from analytics.services import ForecastReport  # noqa: E402

# Enough history to see the last weeks' pattern next to the forecast without squeezing it.
HISTORY_SHOWN = pd.Timedelta(weeks=3)
FORMATS = ("png", "svg")


def forecast_chart(report: ForecastReport, *, format: str = "png", dpi: int = 110) -> bytes:
    """History, forecast, its interval, the forecast without promotions, and the promotion windows."""
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    # A Figure of its own (no pyplot state) so web threads can render charts side by side.
    fig = Figure(figsize=(12, 5.2), layout="constrained")
    ax = fig.add_subplot()
    start = report.forecast.index[0]
    history = report.history[report.history.index >= start - HISTORY_SHOWN]
    ax.plot(history.index, history.to_numpy(), color="#4c566a", linewidth=0.8, label="orders per hour (history)")
    ax.fill_between(report.forecast.index, report.lower.to_numpy(), report.upper.to_numpy(), color="#f59e0b",
                    alpha=0.25, linewidth=0, label=f"{report.interval:.0%} prediction interval")
    if any(w.starts_at < report.forecast.index[-1] and w.ends_at > start for w in report.promotions):
        ax.plot(report.baseline.index, report.baseline.to_numpy(), color="#b45309", linewidth=0.9,
                linestyle=":", label="forecast without promotions")
    ax.plot(report.forecast.index, report.forecast.to_numpy(), color="#d97706", linewidth=1.6, label="forecast")
    ax.axvline(start, color="#111827", linewidth=0.8, linestyle="--")
    ax.annotate("now", (start, 1), xycoords=("data", "axes fraction"), xytext=(3, -12),
                textcoords="offset points", fontsize=8)
    shown_from = history.index[0] if len(history) else start
    for n, promo in enumerate(w for w in report.promotions if w.ends_at > shown_from):
        ax.axvspan(max(promo.starts_at, shown_from), promo.ends_at, color="#10b981", alpha=0.15, linewidth=0,
                   label="promotion" if n == 0 else None)
        where = f" on {promo.channel}" if promo.channel else ""
        ax.annotate(f"{promo.name}{where} +{promo.uplift_percent}%", (max(promo.starts_at, shown_from), 0.97),
                    xycoords=("data", "axes fraction"), xytext=(3, 0), textcoords="offset points", fontsize=8,
                    color="#047857", va="top")
    peak = report.advice
    ax.plot([peak.peak_at], [peak.peak_upper_per_hour], marker="v", color="#b91c1c", markersize=6, linestyle="none",
            label="peak used for capacity (upper bound)")
    ax.annotate(f"peak {peak.peak_mean_per_hour:.0f}/h, upper {peak.peak_upper_per_hour:.0f}/h",
                (peak.peak_at, peak.peak_upper_per_hour), xytext=(-8, 2), textcoords="offset points", fontsize=8,
                ha="right", color="#b91c1c")
    ax.set_title(f"Orders per hour, {report.subject}: {report.model}", fontsize=11, loc="left")
    bt = report.backtest
    ax.text(0.0, -0.1, f"Backtest: {bt.verdict}", transform=ax.transAxes, fontsize=8, va="top", wrap=True)
    ax.set_ylabel("orders per hour")
    ax.set_ylim(bottom=0, top=max(history.max() if len(history) else 0, report.upper.max()) * 1.12)
    ax.xaxis.set_major_locator(DayLocator(interval=2))
    ax.xaxis.set_major_formatter(DateFormatter("%a %d %b"))
    ax.tick_params(axis="x", labelsize=8)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(0, 0.9), fontsize=8, framealpha=0.9)
    out = BytesIO()
    fig.savefig(out, format=format, dpi=dpi)
    return out.getvalue()
