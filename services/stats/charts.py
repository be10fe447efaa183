"""Charts as PNG, drawn with matplotlib's object API straight onto an Agg canvas.

No pyplot and no `matplotlib.use()`: nothing global is switched or kept between requests, so
other code using matplotlib is unaffected and each request owns its figure (matplotlib's advice
for web servers). Requests draw side by side, with no lock between them: matplotlib keeps its
FreeType fonts per thread (the one structure that is not thread-safe), a figure and its canvas
belong to one request, and the answer is bounded (at most 2,000 buckets, services/stats). A
process-wide lock used to make every chart wait for the slowest one (38 s for an event dated
years back). Text from users (the event's name) is drawn as text: `$...$` is not mathtext.
The module is imported on the first chart request, not at app start.
"""

from __future__ import annotations

import io
from itertools import accumulate
from zoneinfo import ZoneInfo

from matplotlib import dates as mdates
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from services.stats.arrival_buckets import ArrivalSummary

WIDTH_INCHES, HEIGHT_INCHES, DPI = 10, 5.5, 100
BAR_COLOR = "#3b6ea5"
LINE_COLOR = "#c0504d"


def arrivals_png(summary: ArrivalSummary) -> bytes:
    """Arrivals per bucket (bars) and checked in so far (line), on the event's local clock."""
    return _draw_arrivals(summary)


def _draw_arrivals(summary: ArrivalSummary) -> bytes:
    zone = ZoneInfo(summary.timezone)
    figure = Figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES), dpi=DPI)
    figure.subplots_adjust(left=0.07, right=0.92, top=0.83, bottom=0.14)
    axes = figure.add_subplot()
    figure.suptitle(
        f"Arrivals: {summary.event_name}", fontsize=15, fontweight="bold", parse_math=False
    )
    show_up = f" ({summary.show_up_rate:.0%})" if summary.show_up_rate is not None else ""
    axes.set_title(
        f"Registered {summary.registered:,}  ·  Checked in {summary.checked_in:,}{show_up}"
        f"  ·  {summary.bucket_minutes}-minute buckets",
        fontsize=11,
        parse_math=False,
    )
    axes.set_xlabel(f"Local time ({summary.timezone})", parse_math=False)
    axes.set_ylabel(f"Arrivals per {summary.bucket_minutes} min")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.grid(axis="y", alpha=0.3)

    if summary.arrivals:
        starts = mdates.date2num([bucket.start for bucket in summary.arrivals])
        ends = mdates.date2num([bucket.end for bucket in summary.arrivals])
        counts = [bucket.count for bucket in summary.arrivals]
        axes.bar(starts, counts, width=(ends - starts) * 0.9, align="edge", color=BAR_COLOR)
        event_start = mdates.date2num(summary.starts_at)
        if starts[0] <= event_start <= ends[-1]:
            axes.axvline(event_start, color="black", linestyle=":", linewidth=1)
            axes.annotate(
                "start",
                xy=(event_start, 1),
                xycoords=("data", "axes fraction"),
                xytext=(3, -12),
                textcoords="offset points",
            )
        locator = mdates.AutoDateLocator(tz=zone, maxticks=12)
        axes.xaxis.set_major_locator(locator)
        axes.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=zone))
        total = axes.twinx()
        total.plot([starts[0], *ends], [0, *accumulate(counts)], color=LINE_COLOR, linewidth=2)
        total.set_ylim(0, max(summary.registered, summary.checked_in, 1) * 1.05)
        total.set_ylabel("Checked in so far", color=LINE_COLOR)
        total.yaxis.set_major_locator(MaxNLocator(integer=True))
        if summary.registered:
            total.axhline(summary.registered, color="grey", linestyle="--", linewidth=1)
            total.annotate(
                f"registered {summary.registered:,}",
                xy=(ends[-1], summary.registered),
                xytext=(-4, -12),
                textcoords="offset points",
                ha="right",
                color="grey",
            )
    else:
        axes.set_xticks([])
        axes.text(0.5, 0.5, "No arrivals yet", ha="center", va="center", transform=axes.transAxes)
    generated = summary.generated_at.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
    figure.text(0.99, 0.01, f"Generated {generated}", ha="right", fontsize=8, color="grey")

    buffer = io.BytesIO()
    FigureCanvasAgg(figure).print_png(buffer)
    return buffer.getvalue()
